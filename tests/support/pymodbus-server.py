"""A real Modbus TCP server for the driver tests (Debian python3-pymodbus 3.0).

Run with the system Python: /usr/bin/python3 tests/support/pymodbus-server.py [--port N] [--size N]

Serves holding registers, input registers, coils and discrete inputs at addresses 0 .. size-1 (zero-based;
a read beyond them is answered with exception 2, illegal data address). Any unit id is answered.
Prints `listening <port>` once it accepts connections (port 0 picks a free one).

Values are set through stdin, one JSON object per line, each answered on stdout with `ok <n>` (n counts
the commands) once applied:
  {"area": "holding" | "input" | "coil" | "discrete", "address": 0, "values": [1, 2, 3]}
Register values are 16-bit words (0..65535); coil values 0 or 1. Or a typed value, laid out by pymodbus's
own payload builder (an encoder independent of the driver's):
  {"area": "holding" | "input", "address": 0, "type": "float32", "value": 1.5, "byteOrder": "big", "wordOrder": "little"}
"""

import argparse
import asyncio
import json
import logging
import sys

from pymodbus.constants import Endian
from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.payload import BinaryPayloadBuilder
from pymodbus.server.async_io import ModbusTcpServer

FC = {"coil": 1, "discrete": 2, "holding": 3, "input": 4}
ORDER = {"big": Endian.Big, "little": Endian.Little}
ADD = {
    "int16": "add_16bit_int",
    "uint16": "add_16bit_uint",
    "int32": "add_32bit_int",
    "uint32": "add_32bit_uint",
    "float32": "add_32bit_float",
}


def registers_of(cmd) -> list:
    """The register words of a command: given as values, or a typed value encoded by pymodbus."""
    if "values" in cmd:
        return [int(v) for v in cmd["values"]]
    builder = BinaryPayloadBuilder(
        byteorder=ORDER[cmd.get("byteOrder", "big")], wordorder=ORDER[cmd.get("wordOrder", "big")]
    )
    getattr(builder, ADD[cmd["type"]])(cmd["value"])
    return builder.to_registers()


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--size", type=int, default=200)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)

    def block():
        return ModbusSequentialDataBlock(0, [0] * args.size)

    slave = ModbusSlaveContext(di=block(), co=block(), hr=block(), ir=block(), zero_mode=True)
    context = ModbusServerContext(slaves=slave, single=True)
    server = ModbusTcpServer(context, address=("127.0.0.1", args.port), allow_reuse_address=True)
    serving = asyncio.create_task(server.serve_forever())
    await server.serving
    port = server.server.sockets[0].getsockname()[1]
    print(f"listening {port}", flush=True)

    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    done = 0
    while True:
        line = await reader.readline()
        if not line:
            break  # stdin closed: the test is gone
        line = line.strip()
        if not line:
            continue
        try:
            cmd = json.loads(line)
            values = registers_of(cmd)
            slave.setValues(FC[cmd["area"]], int(cmd["address"]), values)
            done += 1
            print(f"ok {done}", flush=True)
        except Exception as exc:  # report and go on: the test sees the error
            print(f"error {exc!r}", flush=True)
    serving.cancel()
    await server.shutdown()


if __name__ == "__main__":
    asyncio.run(main())
