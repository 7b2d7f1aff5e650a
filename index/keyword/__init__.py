"""The keyword index: segments plus a manifest, kept level with the store by catching up.

The store numbers every commit (a commit sequence, `index.revision`) and leaves a tombstone for
every removal, so whoever reads it can ask for "everything after N". The manifest records the N
its segments are level with; a process that finds the store ahead fetches only those articles and
chunks, writes them as one small segment and moves N. Nothing is rebuilt from the whole store
except the very first time a folder is filled. An ingest builds the segments of its own articles
while it writes them (`staging.Stager`, in its planning process) and leaves them staged; catching
up adopts a staged segment, instead of reading its articles back from the store, once every
article in it is committed at the version it holds. Small segments are merged in tiers (eight of
a size make one of the next), the way Lucene merges, so their number stays logarithmic in the
archive.

Which rows are live (`liveness`): an article belongs to the newest segment that holds it, unless
a tombstone newer than that segment removes it. BM25 (`scoring.Snapshot`) counts document
frequencies over live rows only, so its scores equal those of an index rebuilt from scratch.
Merges drop dead rows for good, and with them the tombstones nothing older is left to remove.

On disk (a folder per store) the index is shared by every process on the machine: the ingest
leaves it level when it finishes, and a server opening the folder maps the segments instead of
reading the store (`LiveKeywords` follows the store's commits). Writers take the folder's lock;
readers never wait for it.

Modules: `index` (the folder, caught up and merged), `segments` (one immutable segment, in memory
or on disk), `liveness` (which rows are live, which segments merge), `staging` (segments an ingest
builds ahead of its commits), `scoring` (BM25 over a view), `live` (the view a server follows),
`terms` (how texts and questions become tokens).
"""

from index.keyword.index import KeywordIndex, View
from index.keyword.live import LiveKeywords
from index.keyword.scoring import Condition, Snapshot
from index.keyword.staging import Stager
from index.keyword.terms import make_stemmer, query_tokens, tokenize, tokenizer, tokens_version

__all__ = [
    "Condition",
    "KeywordIndex",
    "LiveKeywords",
    "Snapshot",
    "Stager",
    "View",
    "make_stemmer",
    "query_tokens",
    "tokenize",
    "tokenizer",
    "tokens_version",
]
