# ruff: noqa: E501 - one example per line reads best, whatever its length
"""Examples of every command, ending its --help and its section of the man page.

Kept apart from the command classes so that they are read only when help is
printed. Each entry: (what it does, the command line): the program name is
put first, or where the line says `{oio}`.
`EXTRA_EXIT_CODES` lists codes a command can return beyond those its arguments
imply (see `oiocli.commands.base._Fast.exit_codes`).
"""

from __future__ import annotations

EXAMPLES: dict[str, tuple[tuple[str, str], ...]] = {
    # accounts
    "account create": (
        ("Create an account (Created is false if it existed)", "account create prod"),
        ("Create several, for a script", "account create a1 a2 -f value -c Created"),
    ),
    "account delete": (
        ("Delete an empty account", "account delete old"),
        ("Delete several; exit 8 if some could not be", "account delete a1 a2"),
    ),
    "account show": (
        ("Counters and metadata of an account", "account show prod"),
        ("Its byte count alone, for a script", "account show prod -f value -c bytes"),
    ),
    "account list": (
        ("Every account", "account list"),
        ("With their counters, as JSON", "account list --long -f json"),
    ),
    "account set": (
        ("Set a metadata key", "account set prod -p owner=ops"),
        ("Set two", "account set prod -p owner=ops -p tier=gold"),
    ),
    "account unset": (
        ("Remove a metadata key", "account unset prod -p owner"),
        ("Remove two", "account unset prod -p owner -p tier"),
    ),
    "account refresh": (
        ("Recompute an account's counters", "account refresh prod"),
        ("Recompute every account's", "account refresh --all"),
    ),
    "account flush": (
        ("See which containers would have their counters reset", "account flush prod --dry-run"),
        ("Reset them", "account flush prod"),
    ),
    # containers
    "container create": (
        ("Create a container", "container create photos"),
        (
            "Erasure coded, keeping 3 versions",
            "container create vault --stgpol EC --max-versions 3",
        ),
    ),
    "container delete": (
        ("Delete an empty container", "container delete photos"),
        ("Delete several; exit 8 if some could not be", "container delete a b c"),
    ),
    "container show": (
        ("Counters, policy, versioning and properties", "container show photos"),
        ("Set shell variables from it", 'eval "$({oio} container show photos -f shell)"'),
    ),
    "container list": (
        ("Every container of the account", "container list"),
        ("Names only, starting with 'logs-'", "container list --prefix logs- -f value -c Name"),
    ),
    "container set": (
        ("Set a property", "container set photos -p team=web"),
        ("Freeze a container (read-only)", "container set photos --status frozen"),
        ("Keep every version from now on", "container set photos --max-versions -1"),
    ),
    "container unset": (
        ("Remove a property", "container unset photos -p team"),
        ("Back to the namespace's default policy", "container unset photos --storage-policy"),
    ),
    "container touch": (
        ("Refresh the account's view of a container", "container touch photos"),
        ("Recount its objects first", "container touch photos --recompute"),
    ),
    "container snapshot": (
        ("Copy a container into photos-<timestamp>", "container snapshot photos"),
        ("Into a chosen name", "container snapshot photos --dst-container photos-2026"),
    ),
    "container refresh": (
        ("Recompute a container's counters", "container refresh photos"),
        ("Then see them", "container show photos -c objects -c bytes_usage"),
    ),
    "container locate": (
        ("Where a container's metadata lives", "container locate photos"),
        (
            "By container id",
            '{oio} container locate --cid "$({oio} container show photos -f value -c cid)"',
        ),
    ),
    "container purge": (
        (
            "See the versions beyond 2 per object",
            "container purge photos --max-versions 2 --dry-run",
        ),
        ("Delete them", "container purge photos --max-versions 2"),
    ),
    "container save": (
        ("Download every object under ./backup", "container save photos -D backup"),
        (
            "Only the JPEGs of 2024, 4 at a time",
            "container save photos -D out --prefix 2024/ --include '*.jpg' --concurrency 4",
        ),
        ("Continue an interrupted save", "container save photos -D backup --resume"),
    ),
    "container sync": (
        ("Make a container like a directory", "container sync ./site web --delete"),
        ("See first what it would do", "container sync ./site web --delete --dry-run"),
        (
            "Make a directory like a container, without logs",
            "container sync web ./copy --exclude '*.log'",
        ),
    ),
    "container flush": (
        ("See what would be deleted", "container flush tmp --dry-run"),
        ("Delete every object", "container flush tmp"),
    ),
    "container check": (
        ("Check every object's chunks", "container check photos"),
        ("Rebuild what is missing or corrupt", "container check photos --repair"),
    ),
    # objects
    "object create": (
        ("Upload two files", "object create photos a.jpg b.jpg"),
        ("Upload stdin under a name", "tar c dir | {oio} object create backups - --name dir.tar"),
        (
            "Upload a tree; a re-run skips what is there",
            "object create photos ./album --recursive --name album",
        ),
    ),
    "object fetch": (
        ("Write an object to stdout", "{oio} object fetch photos a.jpg > a.jpg"),
        (
            "To a file, continuing an interrupted download",
            "object fetch photos big.iso --file big.iso --resume",
        ),
        ("The last 100 bytes", "object fetch photos log.txt --range=-100"),
    ),
    "object save": (
        ("Save an object as ./<name>", "object save photos 2024/a.jpg"),
        ("Into a directory", "object save photos 2024/a.jpg --file ./out/"),
    ),
    "object show": (
        ("An object's metadata and properties", "object show photos a.jpg"),
        ("Its MD5 alone", "object show photos a.jpg -f value -c hash"),
    ),
    "object list": (
        ("Every object", "object list photos"),
        (
            "Names under 2024/, one level deep",
            "object list photos --prefix 2024/ --delimiter / -f value -c Name",
        ),
        (
            "Every version, largest first",
            "object list photos --versions --sort-column Size --sort-descending",
        ),
    ),
    "object locate": (
        ("Where an object's chunks are", "object locate photos big.iso"),
        ("With each chunk's own size and hash", "object locate photos big.iso --chunk-info"),
    ),
    "object delete": (
        ("Delete two objects", "object delete photos a.jpg b.jpg"),
        ("See what a prefix would delete", "object delete photos --prefix tmp/ --dry-run"),
        (
            "Delete the .tmp files under tmp/",
            "object delete photos --prefix tmp/ --include '*.tmp'",
        ),
    ),
    "object set": (
        ("Set a property", "object set photos a.jpg -p camera=x100"),
        ("Re-encode with erasure coding", "object set photos big.iso --policy EC"),
    ),
    "object unset": (
        ("Remove a property", "object unset photos a.jpg -p camera"),
        (
            "From one version",
            "object unset photos a.jpg -p camera --object-version 1730000000000000",
        ),
    ),
    "object touch": (
        ("Emit a fresh event for an object", "object touch photos a.jpg"),
        ("For several", "object touch photos a.jpg b.jpg"),
    ),
    "object drain": (
        ("Delete an object's data, keep its metadata", "object drain photos old.iso"),
        ("Several at once", "object drain photos old1.iso old2.iso"),
    ),
    "object truncate": (
        ("Keep the first 1 KiB", "object truncate photos log.txt --size 1024"),
        ("Empty it", "object truncate photos log.txt --size 0"),
    ),
    "object link": (
        ("A second name sharing the data", "object link photos a.jpg a-copy.jpg"),
        ("Into another container", "object link photos a.jpg a.jpg --dest-container archive"),
    ),
    "object copy": (
        ("A second object sharing the data", "object copy photos a.jpg a-copy.jpg"),
        (
            "Into another container, erasure coded",
            "object copy photos a.jpg --dest-container archive --policy EC",
        ),
        ("What it would do", "object copy photos a.jpg b.jpg --dry-run"),
    ),
    "object move": (
        ("Rename an object", "object move photos a.jpg b.jpg"),
        (
            "Into another account's container",
            "object move photos a.jpg --dest-account ops --dest-container archive",
        ),
    ),
    "object purge": (
        ("Keep the 2 newest versions", "object purge photos doc.txt --max-versions 2"),
        ("As many as the container keeps", "object purge photos doc.txt"),
    ),
    "object check": (
        ("Check an object's chunks", "object check photos big.iso"),
        ("Rebuild what is missing or corrupt", "object check photos big.iso --repair"),
    ),
    # embedded namespace
    "namespace show": (
        ("Data directory, chunk size, policies, volumes", "namespace show"),
        ("Another namespace's", "--ns TEST namespace show -f json"),
    ),
    "namespace set": (
        (
            "Add a Backblaze B2 tier policy",
            "namespace set --policy B2=backblaze/account_id=0012ab,bucket_name=cold",
        ),
        (
            "Any S3 bucket, made the default",
            "namespace set --policy S3=s3/endpoint=https://s3.example.com,bucket_name=cold --default-policy S3",
        ),
    ),
    "tier move": (
        (
            "Nightly: logs older than 30 days to the tier",
            "tier move logs --prefix 2024/ --older-than 30d --policy B2",
        ),
        ("What would come back, as JSON", "tier move logs --policy SINGLE --dry-run -f json"),
    ),
    "tier orphans": (
        ("Bucket objects no record names", "tier orphans"),
        ("Delete those older than a day", "tier orphans --older-than 1d --delete"),
    ),
    "namespace serve": (
        ("Serve the namespace over OpenIO's protocols", "namespace serve --port 6006"),
        ("Use it from another shell", "--oio-proxy http://127.0.0.1:6006 object list photos"),
    ),
    "namespace check": (
        ("Check statistics, databases and every object", "namespace check"),
        ("Metadata only, then repair", "namespace check --metadata-only --repair"),
    ),
    "volume list": (
        ("Volumes, their chunks and free space", "volume list --human"),
        ("Those not ok", "{oio} volume list -f value -c Volume -c State | grep -v ' ok$'"),
    ),
    "volume check": (
        ("Check every chunk file of a volume", "volume check vol-1"),
        ("Delete orphans older than a day", "volume check vol-1 --delete-orphans --min-age 86400"),
        (
            "Sweep the orphans of every volume, without reading chunks",
            "volume check --delete-orphans --no-verify",
        ),
    ),
    "volume add": (
        ("Add a new disk as a volume", "volume add /srv/disk4/oio"),
        ("Then see it", "volume list --human"),
    ),
    "volume drain": (
        ("Move a volume's chunks to the others", "volume drain vol-3"),
        ("Then remove it from the namespace", "volume drain vol-3 --remove"),
        ("Put it back in service", "volume drain vol-3 --cancel"),
    ),
    "volume rebuild": (
        ("Rebuild a lost volume's chunks elsewhere", "volume rebuild vol-3"),
        ("Then check it", "volume check vol-3 --orphans"),
    ),
    "events list": (
        ("The last hour's events", "events list --since 1h"),
        ("Since a date, as JSON", "events list --since 2026-01-01 -f json"),
    ),
    # the application
    "help": (
        ("Every command, with the global options", "help"),
        ("The options, examples and exit codes of one command", "help object create"),
    ),
    "complete": (
        ("Bash completion in this shell", "source <({oio} complete)"),
        ("Zsh completion, as a function zsh finds", "{oio} complete --shell zsh > ~/.zfunc/_oio"),
    ),
}

EXTRA_EXIT_CODES: dict[str, tuple[int, ...]] = {
    "tier move": (8,),
    "tier orphans": (8,),
    "object create": (8, 130),
    "object fetch": (8, 130),
    "container save": (8, 130),
    "container sync": (8, 130),
    "object check": (7,),
    "container check": (7,),
    "namespace check": (7,),
    "volume check": (7,),
    "volume rebuild": (7,),
    "volume drain": (7,),
}
