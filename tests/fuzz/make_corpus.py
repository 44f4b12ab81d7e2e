#!/usr/bin/env python3
"""Writes the GGUF fuzz seeds in corpus/: tiny valid files covering every value type, nested
arrays, several tensor types and a custom alignment. Run once; the output is checked in (named
*.seed because the repository ignores *.gguf)."""
import os
import struct
import sys

F32, F16, Q8_0, Q4_K, IQ2_XXS = 0, 1, 8, 12, 16
U8, I8, U16, I16, U32, I32, F32V, BOOL, STR, ARR, U64, I64, F64 = range(13)


def s(text):
    b = text.encode()
    return struct.pack("<Q", len(b)) + b


def scalar(t, v):
    fmt = {U8: "<B", I8: "<b", U16: "<H", I16: "<h", U32: "<I", I32: "<i", F32V: "<f",
           BOOL: "<B", U64: "<Q", I64: "<q", F64: "<d"}[t]
    return struct.pack(fmt, v)


def value(t, v):
    if t == STR:
        return s(v)
    if t == ARR:
        elem_type, elems = v
        return struct.pack("<IQ", elem_type, len(elems)) + b"".join(value(elem_type, e) for e in elems)
    return scalar(t, v)


def kv(key, t, v):
    return s(key) + struct.pack("<I", t) + value(t, v)


def tensor(name, ne, type_id, offset):
    return s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<q", n) for n in ne) + \
        struct.pack("<IQ", type_id, offset)


def pad(b, alignment):
    return b + b"\0" * ((alignment - len(b) % alignment) % alignment)


def gguf(kvs, tensors, data_sizes, alignment=32):
    out = b"GGUF" + struct.pack("<IQQ", 3, len(tensors), len(kvs)) + b"".join(kvs) + b"".join(tensors)
    out = pad(out, alignment)
    for n in data_sizes:
        out = pad(out + bytes((i * 7) & 0xFF for i in range(n)), alignment)
    return out


def main(folder):
    os.makedirs(folder, exist_ok=True)
    seeds = {
        "empty_header.seed": gguf([], [], []),
        "every_value_type.seed": gguf([
            kv("general.architecture", STR, "deepseek2"),
            kv("u8", U8, 200), kv("i8", I8, -5), kv("u16", U16, 60000), kv("i16", I16, -300),
            kv("u32", U32, 7), kv("i32", I32, -7), kv("f32", F32V, 0.5), kv("bool", BOOL, 1),
            kv("u64", U64, 1 << 40), kv("i64", I64, -(1 << 40)), kv("f64", F64, 2.5),
            kv("strs", ARR, (STR, ["a", "", "bc"])),
            kv("empty", ARR, (I32, [])),
            kv("nested", ARR, (ARR, [(I32, [1, 2]), (F32V, [1.0])])),
        ], [], []),
        "one_tensor.seed": gguf([kv("general.architecture", STR, "x")], [tensor("w", [8], F32, 0)], [32]),
        "mixed_tensors.seed": gguf(
            [kv("general.alignment", U32, 64)],
            [tensor("a", [256, 1], Q4_K, 0), tensor("b", [32, 2], Q8_0, 192),
             tensor("c", [4, 2, 2, 1], F16, 320), tensor("d", [256], IQ2_XXS, 384)],
            [144, 68, 32, 66], alignment=64),
    }
    for name, data in seeds.items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus"))
