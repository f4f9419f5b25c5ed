#!/bin/bash
postconf -c ${SWEEP:-/tmp/postfix-sweep2}/run2/conf -e defer_transports=
postfix -c ${SWEEP:-/tmp/postfix-sweep2}/run2/conf reload
sleep 1
postqueue -c ${SWEEP:-/tmp/postfix-sweep2}/run2/conf -f
sleep 25
postqueue -c ${SWEEP:-/tmp/postfix-sweep2}/run2/conf -p
