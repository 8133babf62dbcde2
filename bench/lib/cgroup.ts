import { readFileSync } from 'node:fs';

/** CPU seconds of the given containers' cgroups (cgroup v1 cpuacct, or v2 cpu.stat). */
export function containersCpuSeconds(ids: readonly string[]): number {
  let total = 0;
  for (const id of ids) {
    try {
      total += Number(readFileSync(`/sys/fs/cgroup/cpuacct/docker/${id}/cpuacct.usage`, 'utf8')) / 1e9;
    } catch {
      const stat = readFileSync(`/sys/fs/cgroup/system.slice/docker-${id}.scope/cpu.stat`, 'utf8');
      total += Number(/usage_usec (\d+)/.exec(stat)?.[1]) / 1e6;
    }
  }
  return total;
}
