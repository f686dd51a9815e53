// machine.system_info from the real host: CPU, memory, distribution, network, SD card, virtualization.
import { readFile } from 'node:fs/promises';
import { cpus, networkInterfaces, totalmem } from 'node:os';

async function readText(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}

/** `KEY="value"` lines of /etc/os-release. */
export function parseOsRelease(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (match) out[match[1]!] = match[2]!.replace(/^"(.*)"$/, '$1');
  }
  return out;
}

export interface CpuInfo {
  cpu_count: number;
  bits: string;
  processor: string;
  cpu_desc: string;
  serial_number: string;
  hardware_desc: string;
  model: string;
  total_memory: number;
  memory_units: 'kB';
}

export async function cpuInfo(): Promise<CpuInfo> {
  const cpuinfo = (await readText('/proc/cpuinfo')) ?? '';
  const field = (name: string) => new RegExp(`^${name}\\s*:\\s*(.+)$`, 'mi').exec(cpuinfo)?.[1]?.trim() ?? '';
  const model = (await readText('/proc/device-tree/model'))?.replace(/\0/g, '').trim() ?? '';
  return {
    cpu_count: cpus().length,
    bits: process.arch.includes('64') ? '64bit' : '32bit',
    processor: process.arch === 'x64' ? 'x86_64' : process.arch === 'arm64' ? 'aarch64' : process.arch,
    cpu_desc: field('model name') || cpus()[0]?.model || '',
    serial_number: field('Serial'),
    hardware_desc: field('Hardware'),
    model,
    total_memory: Math.round(totalmem() / 1024),
    memory_units: 'kB',
  };
}

export async function distribution(): Promise<Record<string, unknown>> {
  const release = parseOsRelease((await readText('/etc/os-release')) ?? '');
  const version = release.VERSION_ID ?? '';
  const [major = '', minor = '', build_number = ''] = version.split('.');
  return {
    name: release.PRETTY_NAME ?? release.NAME ?? 'Linux',
    id: release.ID ?? '',
    version,
    version_parts: { major, minor, build_number },
    like: release.ID_LIKE ?? '',
    codename: release.VERSION_CODENAME ?? '',
  };
}

/** SD card facts on a Pi (mmcblk0); empty elsewhere, as Moonraker reports it. */
export async function sdInfo(): Promise<Record<string, unknown>> {
  const base = '/sys/block/mmcblk0/device';
  const [manufacturerId, name, serial, sizeSectors, date] = await Promise.all([
    readText(`${base}/manfid`),
    readText(`${base}/name`),
    readText(`${base}/serial`),
    readText('/sys/block/mmcblk0/size'),
    readText(`${base}/date`),
  ]);
  if (!name) return {};
  const bytes = Number(sizeSectors ?? 0) * 512;
  return {
    manufacturer_id: manufacturerId?.trim() ?? '',
    product_name: name.trim(),
    serial_number: serial?.trim() ?? '',
    manufacturer_date: date?.trim() ?? '',
    capacity: `${(bytes / 1024 ** 3).toFixed(1)} GiB`,
    total_bytes: bytes,
  };
}

export async function virtualization(): Promise<{ virt_type: string; virt_identifier: string }> {
  const cgroup = (await readText('/proc/1/cgroup')) ?? '';
  if (cgroup.includes('docker') || (await readText('/.dockerenv')) !== null) {
    return { virt_type: 'container', virt_identifier: 'docker' };
  }
  const product = (await readText('/sys/class/dmi/id/product_name'))?.trim() ?? '';
  const known: [RegExp, string][] = [
    [/KVM|QEMU/i, 'kvm'],
    [/VirtualBox/i, 'oracle'],
    [/VMware/i, 'vmware'],
  ];
  for (const [pattern, id] of known)
    if (pattern.test(product)) return { virt_type: 'vm', virt_identifier: id };
  return { virt_type: 'none', virt_identifier: 'none' };
}

export function network(): Record<string, { mac_address: string; ip_addresses: unknown[] }> {
  const out: Record<string, { mac_address: string; ip_addresses: unknown[] }> = {};
  for (const [name, addresses] of Object.entries(networkInterfaces())) {
    if (!addresses || name === 'lo') continue;
    out[name] = {
      mac_address: addresses[0]?.mac ?? '',
      ip_addresses: addresses.map((a) => ({
        family: a.family === 'IPv4' ? 'ipv4' : 'ipv6',
        address: a.address,
        is_link_local: a.family === 'IPv6' ? a.address.startsWith('fe80') : a.address.startsWith('169.254.'),
      })),
    };
  }
  return out;
}
