// CPU time of this process and every process under it (Chromium and its helpers), from /proc (Linux), in
// milliseconds. Wall times swing with the load other work puts on the machine; CPU time much less, so both sides
// print both. Processes that already exited count through their parent's cutime/cstime (a reaped process's own
// time and that of the children it reaped), so every process in the tree counts all four fields.

import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10; // USER_HZ is 100 on Linux

function stat(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 2 (comm) may hold spaces and parentheses: split after its closing parenthesis.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    // f[0] is field 3 (state): ppid is field 4, utime 14, stime 15, cutime 16, cstime 17.
    return { ppid: Number(f[1]), utime: Number(f[11]), stime: Number(f[12]), cutime: Number(f[13]), cstime: Number(f[14]) };
  } catch {
    return undefined;
  }
}

/** CPU milliseconds used so far by process `root` (default: this one), its reaped children, and its live descendants. */
export function treeCpuMs(root = process.pid) {
  const byParent = new Map();
  const stats = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(name);
    if (!s) continue;
    const pid = Number(name);
    stats.set(pid, s);
    if (!byParent.has(s.ppid)) byParent.set(s.ppid, []);
    byParent.get(s.ppid).push(pid);
  }
  const self = stats.get(root);
  if (!self) return NaN;
  let ticks = self.utime + self.stime + self.cutime + self.cstime;
  const queue = [...(byParent.get(root) ?? [])];
  while (queue.length) {
    const pid = queue.pop();
    const s = stats.get(pid);
    ticks += s.utime + s.stime + s.cutime + s.cstime;
    queue.push(...(byParent.get(pid) ?? []));
  }
  return ticks * TICK_MS;
}
