source "$(dirname "$0")/run1.sh"; cd ${SWEEP:-/tmp/clients-sweep}
run1 snail-starttls $X sh -c "s-nail -:/ -Sv15-compat -Smta=smtp://$SRV:25 -Ssmtp-use-starttls -Stls-verify=ignore -Shostname=snail.example.org -Ssmtp-auth=none -Sfrom=sender@example.org -s 'Grüße' a@example.test < msgs/8bit.eml"
run1 snail-plain $X sh -c "s-nail -:/ -Sv15-compat -Smta=smtp://$SRV:25 -Shostname=snail.example.org -Ssmtp-auth=none -Sfrom=sender@example.org -Ssmtp-hostname=snail.example.org -s 'Grüße' a@example.test nobody@example.test < msgs/8bit.eml"
