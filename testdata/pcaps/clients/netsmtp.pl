#!/usr/bin/perl
# netsmtp.pl FILE: Perl's Net::SMTP (libnet 3.14, Debian 12) sending FILE over
# STARTTLS to 127.0.0.2:25, certificate not checked. Over TLS this libnet
# hangs after MAIL (its RCPT is never written): the server's timeout ends
# the session, with a 421 in clear text (record.sh, perl-starttls).
use strict;
use warnings;
use Net::SMTP;
my ($file) = @ARGV;
my $s = Net::SMTP->new('127.0.0.2', Hello => 'perlclient.example.org', Timeout => 30) or die "connect: $@";
$s->starttls(SSL_verify_mode => 0) or die "starttls failed";
open my $fh, '<', $file or die "$file: $!";
local $/;
my $msg = <$fh>;
close $fh;
$s->mail('sender@example.org') or die 'MAIL refused: ' . $s->code;
$s->recipient('user@example.test') or die 'RCPT refused: ' . $s->code;
$s->data($msg) or die 'DATA failed: ' . $s->code;
$s->quit;
