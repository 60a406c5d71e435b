"""The stock AIS SDK against a koine cluster: what an AIS user's code does (test/ais-sdk.test.ts runs it)."""
import io
import os
import sys
import tarfile

import requests
import xxhash
from aistore.sdk import Client
from aistore.sdk.authn import AuthNClient
from aistore.sdk.errors import AISError, ErrBckAlreadyExists, ErrBckNotFound, ErrObjNotFound
from aistore.sdk.provider import Provider
from aistore.sdk import utils as sdk_utils


class _Xxh64Compat:
    """The SDK pins xxhash 3.5.0, whose xxh64 took `input=`; this machine's index has only 4.x (the same hash, the
    argument positional): the SDK's own HRW code runs unchanged on it."""

    def xxh64(self, input=b"", seed=0):  # noqa: A002 - the SDK's keyword
        return xxhash.xxh64(input, seed=seed)


try:
    xxhash.xxh64(seed=0, input=b"")
except TypeError:
    sdk_utils.xxhash = _Xxh64Compat()

url, user, secret, remote_bucket, promote_dir = sys.argv[1:6]
token = AuthNClient(url).login(user, secret)
client = Client(url, token=token)
assert client.cluster().is_ready()

# The cluster map: the gateway, and both cache nodes as targets.
smap = client.cluster().get_info()
assert len(smap.tmap) == 2 and len(smap.pmap) == 1, smap

bck = client.bucket("train")
bck.create()
try:
    bck.create()
    raise SystemExit("a second create should fail")
except ErrBckAlreadyExists:
    pass
bck.create(exist_ok=True)

# ~200 objects, 1 B to 64 MiB.
data = {}
for i in range(196):
    data[f"shard-{i:04d}.bin"] = os.urandom(i * 1021 + 1)
for name, size in (("big/one", 1024 * 1024 + 3), ("big/eight", 8 * 1024 * 1024 + 5), ("big/sixty-four", 64 * 1024 * 1024)):
    data[name] = os.urandom(size)
for name, body in data.items():
    bck.object(name).get_writer().put_content(body)
for name in ("shard-0000.bin", "shard-0195.bin", "big/one", "big/sixty-four"):
    assert bck.object(name).get_reader().read_all() == data[name], name
    # Straight to the target the SDK's own HRW picks (a wrong one sends it on).
    assert bck.object(name).get_reader(direct=True).read_all() == data[name], name
big = data["big/sixty-four"]
assert bck.object("big/sixty-four").get_reader(byte_range="bytes=1000-1999").read_all() == big[1000:2000]
assert bck.object("big/sixty-four").get_reader(byte_range="bytes=-10").read_all() == big[-10:]

# HEAD: the properties, and the checksum kept with the object (AIS's xxhash, computed on the stream).
head = bck.object("big/eight").head()
assert int(head["content-length"]) == len(data["big/eight"]), head
assert head["ais-checksum-type"] == "xxhash2" and head["ais-checksum-value"] == xxhash.xxh64(data["big/eight"]).hexdigest(), head
props = bck.object("shard-0003.bin").props
assert props.present and props.size == len(data["shard-0003.bin"]), props
# A body that is not what the client hashed is refused, and nothing is written.
r = requests.put(f"{url}/v1/objects/train/bad?provider=ais", data=b"abc",
                 headers={"Authorization": f"Bearer {token}", "Ais-Checksum-Type": "xxhash", "Ais-Checksum-Value": "0000000000000000"})
assert r.status_code == 400 and "BAD DATA CHECKSUM" in r.text, r.text
try:
    bck.object("bad").head()
    raise SystemExit("a refused write should leave nothing")
except (ErrObjNotFound, AISError):
    pass

# Listings: pages with props, everything, names only.
names = [e.name for e in bck.list_all_objects(page_size=50)]
assert names == sorted(data), names[:5]
page = bck.list_objects(page_size=10, prefix="shard-", props="name,size,atime")
assert [e.name for e in page.entries] == sorted(data)[3:13] and page.continuation_token != "", [e.name for e in page.entries]
assert page.entries[0].size == len(data[page.entries[0].name]) and page.entries[0].is_cached()
assert sorted(b.name for b in client.cluster().list_buckets(provider=Provider.AIS)) == ["train"]

# Multi-object jobs, waited for as the SDK does: delete by list and by template.
job = bck.objects(obj_names=["shard-0000.bin", "shard-0001.bin"]).delete()
assert client.job(job).wait(timeout=60).success
job = bck.objects(obj_template="shard-{0002..0099..1}.bin").delete()
assert client.job(job, job_kind="delete-listrange").wait(timeout=60).success
left = [e.name for e in bck.list_all_objects(prefix="shard-")]
assert left == [f"shard-{i:04d}.bin" for i in range(100, 196)], left[:3]

# Append, then flush: the object is there only after the flush.
writer = bck.object("log.txt").get_writer()
handle = writer.append_content(b"first line\n")
handle = writer.append_content(b"second line\n", handle=handle)
try:
    bck.object("log.txt").head()
    raise SystemExit("an appended object is not there before the flush")
except (ErrObjNotFound, AISError):
    pass
writer.append_content(b"", handle=handle, flush=True)
assert bck.object("log.txt").get_reader().read_all() == b"first line\nsecond line\n"

# Rename an object (the POST action), set custom metadata.
r = requests.post(f"{url}/v1/objects/train/log.txt?provider=ais", json={"action": "rename-obj", "name": "logs/renamed.txt", "value": None},
                  headers={"Authorization": f"Bearer {token}"})
assert r.status_code == 200, r.text
assert bck.object("logs/renamed.txt").get_reader().read_all() == b"first line\nsecond line\n"
bck.object("logs/renamed.txt").get_writer().set_custom_props({"origin": "sdk"})
assert bck.object("logs/renamed.txt").props.custom_metadata == {"origin": "sdk"}

# Bucket copy and rename, as jobs.
copy = client.bucket("train-copy")
assert client.job(bck.copy(copy)).wait(timeout=120).success
assert copy.object("shard-0100.bin").get_reader().read_all() == data["shard-0100.bin"]
assert copy.object("big/eight").head()["ais-checksum-value"] == xxhash.xxh64(data["big/eight"]).hexdigest()
job = copy.rename("renamed")
assert client.job(job).wait(timeout=60).success
assert client.bucket("renamed").object("shard-0150.bin").get_reader().read_all() == data["shard-0150.bin"]
try:
    client.bucket("train-copy").head()
    raise SystemExit("a renamed bucket is gone")
except AISError as e:
    assert e.status_code == 404
# Archive: shards by template into one tar, made by a job.
for job in bck.objects(obj_template="shard-{0100..0109}.bin").archive("packed/shards.tar"):
    assert client.job(job).wait(timeout=60).success
packed = tarfile.open(fileobj=io.BytesIO(bck.object("packed/shards.tar").get_reader().read_all()))
assert sorted(packed.getnames()) == [f"shard-{i:04d}.bin" for i in range(100, 110)], packed.getnames()
assert packed.extractfile("shard-0105.bin").read() == data["shard-0105.bin"]
# Promote: a directory of a target's host into the bucket (an admin's, below KOINE_MOUNT_ROOTS), done at once.
assert bck.object("promoted").promote(promote_dir, recursive=True) == ""
assert bck.object("promoted/a.txt").get_reader().read_all() == b"promoted a"
assert bck.object("promoted/sub/b.txt").get_reader().read_all() == b"promoted b"

# Bucket properties: the checksum type is honoured by new writes.
bck.make_request("PATCH", "set-bprops", value={"checksum": {"type": "sha256"}})
bck.object("hashed").get_writer().put_content(b"hello")
assert bck.object("hashed").head()["ais-checksum-type"] == "sha256"

# A mounted S3 bucket is an aws:// bucket: evict and prefetch (by list and by template) drop and load its cache.
remote = client.bucket(remote_bucket, provider=Provider.AMAZON)
assert remote.object("r-003").get_reader().read_all() == b"remote object 3"
job = remote.objects(obj_names=["r-001", "r-003"]).evict()
assert client.job(job).wait(timeout=60).success
job = remote.objects(obj_template="r-{000..009}").prefetch()
assert client.job(job).wait(timeout=60).success
snaps = client.job(job).get_details().list_snapshots()
assert snaps[0].kind == "prefetch-listrange" and snaps[0].stats.objects == 10, snaps
job = remote.objects(obj_template="r-{000..004..2}").evict()
assert client.job(job).wait(timeout=60).success
job = remote.objects(obj_names=["r-000", "r-002"]).prefetch()
assert client.job(job).wait(timeout=60).success
assert remote.object("r-009").get_reader().read_all() == b"remote object 9"
assert remote_bucket in [b.name for b in client.cluster().list_buckets(provider=Provider.AMAZON)]

# Errors, as the SDK's classes.
try:
    client.bucket("nope").list_objects()
    raise SystemExit("a missing bucket should fail")
except ErrBckNotFound:
    pass
try:
    bck.object("missing").get_reader().read_all()
    raise SystemExit("a missing object should fail")
except ErrObjNotFound:
    pass
try:
    Client(url).bucket("train").object("shard-0100.bin").get_reader().read_all()
    raise SystemExit("no token, no bytes of a private bucket")
except AISError as e:
    assert e.status_code in (401, 403), e
bck.delete()
print("ais sdk ok")
