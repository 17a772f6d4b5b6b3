#!/usr/bin/env python3
"""Input files for the enrollment benchmarks (bench/enroll.sh, bench/audit.sh), written into DIR:

  tenants.yaml  TENANTS tenants t0000.. under the provider, each with an ssh-agent credential "ssh"
                (and a deviceLimit when --device-limit is given)
  devices.csv   DEVICES devices dev-000000.. spread round-robin over the tenants
  devices.yaml  with --yaml-devices N: N Device documents ydev-000000.. the same way

usage: gen_fleet.py DIR --devices N --tenants T [--device-limit L] [--yaml-devices N]
"""
import argparse


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--devices", type=int, required=True)
    parser.add_argument("--tenants", type=int, required=True)
    parser.add_argument("--device-limit", type=int, default=0, help="each tenant's deviceLimit; 0: none")
    parser.add_argument("--yaml-devices", type=int, default=0)
    args = parser.parse_args()
    t = args.tenants

    with open(f"{args.dir}/tenants.yaml", "w") as f:
        for i in range(t):
            f.write(f"---\napiVersion: fleetadm/v1\nkind: Tenant\nmetadata: {{name: t{i:04d}}}\n")
            if args.device_limit:
                f.write(f"spec: {{deviceLimit: {args.device_limit}}}\n")
            f.write(f"---\napiVersion: fleetadm/v1\nkind: Credential\nmetadata: {{name: ssh, tenant: t{i:04d}}}\n"
                    "spec: {type: ssh-agent}\n")

    with open(f"{args.dir}/devices.csv", "w") as f:
        f.write("name,tenant,deviceType,labels,ssh.host,ssh.port,ssh.user,ssh.credential,identity.serial\n")
        for i in range(args.devices):
            f.write(f"dev-{i:06d},t{i % t:04d},rpi4,building=b{i % 7};channel=stable,"
                    f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256},22,root,ssh,SN{i:08d}\n")

    if args.yaml_devices:
        with open(f"{args.dir}/devices.yaml", "w") as f:
            for i in range(args.yaml_devices):
                f.write(f"""---
apiVersion: fleetadm/v1
kind: Device
metadata:
  name: ydev-{i:06d}
  tenant: t{i % t:04d}
  labels: {{building: b{i % 7}, channel: stable}}
spec:
  deviceType: rpi4
  identity: {{serial: YSN{i:08d}}}
  ssh: {{host: 10.1.{i // 256 % 256}.{i % 256}, port: 22, user: root, credential: ssh}}
""")


if __name__ == "__main__":
    main()
