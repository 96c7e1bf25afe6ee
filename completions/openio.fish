# fish completion for openio: the same as oio (its script completes both names).
source (status dirname)/oio.fish
