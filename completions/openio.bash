# bash completion for openio: the same as oio (its script completes both names).
. "${BASH_SOURCE[0]%/*}/oio.bash"
