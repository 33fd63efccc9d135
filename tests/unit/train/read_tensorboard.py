"""Reads a directory of TensorBoard event files with tensorboard's own EventAccumulator and prints what it
found as JSON (for observability_tensorboard_test): the file version, the scalars per tag, and whether every
record's framing and masked CRC-32C checks out (checked again here with tensorboard's reference CRC)."""
import glob
import json
import os
import struct
import sys

from tensorboard.backend.event_processing import event_accumulator
from tensorboard.compat.proto import event_pb2
from tensorboard.compat.tensorflow_stub.pywrap_tensorflow import masked_crc32c


def check_records(path):
    """Returns (records, problems, first event's file_version) after walking the TFRecord framing."""
    data = open(path, "rb").read()
    pos, records, problems, version = 0, 0, [], None
    while pos < len(data):
        if pos + 12 > len(data):
            problems.append("truncated header at %d" % pos)
            break
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if masked_crc32c(header) != header_crc:
            problems.append("header crc at %d" % pos)
        body = data[pos + 12:pos + 12 + length]
        if len(body) < length or pos + 16 + length > len(data):
            problems.append("truncated record at %d" % pos)
            break
        (body_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        if masked_crc32c(body) != body_crc:
            problems.append("data crc at %d" % pos)
        if records == 0:
            version = event_pb2.Event.FromString(body).file_version
        pos += 16 + length
        records += 1
    return records, problems, version


def main():
    run_dir = sys.argv[1]
    files = sorted(glob.glob(os.path.join(run_dir, "events.out.tfevents.*")))
    records, problems, versions = 0, [], []
    for f in files:
        n, p, v = check_records(f)
        records += n
        problems += p
        versions.append(v)
    acc = event_accumulator.EventAccumulator(run_dir, size_guidance={event_accumulator.SCALARS: 0})
    acc.Reload()
    scalars = {}
    for tag in acc.Tags()["scalars"]:
        scalars[tag] = [[e.step, e.value, e.wall_time] for e in acc.Scalars(tag)]
    print(json.dumps({
        "files": [os.path.basename(f) for f in files],
        "file_versions": versions,  # the first record of each file, as written
        "accumulator_file_version": acc.file_version,  # as EventAccumulator parsed it (a float)
        "records": records,
        "problems": problems,
        "scalars": scalars,
    }))


if __name__ == "__main__":
    main()
