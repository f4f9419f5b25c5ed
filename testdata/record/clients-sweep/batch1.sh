source "$(dirname "$0")/run1.sh"; cd ${SWEEP:-/tmp/clients-sweep}
run1 py-utf8 $X python3 $REC/py_utf8.py
run1 py-utf8-tls $X python3 $REC/py_utf8.py tls
run1 py-big-refuse $X python3 $REC/py_refuse.py
run1 perl-8bit $X perl $REC/perl_8bit.pl msgs/8bit.eml
run1 msmtp-8bit-starttls $X sh -c "$MS --port=25 --tls=on --tls-starttls=on user@example.test < msgs/8bit.eml"
run1 msmtp-big $X sh -c "$MS --port=25 --tls=off a@example.test nobody@example.test < msgs/big.eml"
run1 msmtp-big-ok $X sh -c "$MS --port=25 --tls=off a@example.test b@example.test < msgs/big.eml"
run1 curl-big $X curl -sS --url smtp://$SRV:25 --mail-from sender@example.org --mail-rcpt a@example.test --mail-rcpt nobody@example.test --mail-rcpt-allowfails --upload-file msgs/big.eml
run1 curl-8bit-starttls $X curl -sS --ssl-reqd -k --url smtp://$SRV:25 --mail-from sender@example.org --mail-rcpt a@example.test --upload-file msgs/8bit.eml
source "$(dirname "$0")/run1.sh"; cd ${SWEEP:-/tmp/clients-sweep}
run1 snail-starttls $X sh -c "s-nail -:/ -Sv15-compat -Smta=smtp://$SRV:25 -Ssmtp-use-starttls -Stls-verify=ignore -Shostname=snail.example.org -Ssmtp-auth=none -Sfrom=sender@example.org -s 'Grüße' a@example.test < msgs/8bit.eml"
run1 snail-plain $X sh -c "s-nail -:/ -Sv15-compat -Smta=smtp://$SRV:25 -Shostname=snail.example.org -Ssmtp-auth=none -Sfrom=sender@example.org -Ssmtp-hostname=snail.example.org -s 'Grüße' a@example.test nobody@example.test < msgs/8bit.eml"
