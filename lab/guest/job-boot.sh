#!/bin/bash
# Run by lab-job.service at every boot of the lab guest: one step of the job (job.py keeps
# its phase on the guest's disk), then reboot when the step asks for it, else power off.
mkdir -p /lab/out
python3 /lab/guest/job.py >> /lab/out/job.log 2>&1
rc=$?
echo "job.py exit $rc (uptime $(cut -d' ' -f1 /proc/uptime))" >> /lab/out/job.log
sync
if [ "$rc" -eq 100 ]; then
    systemctl --no-block reboot
else
    systemctl --no-block poweroff
fi
