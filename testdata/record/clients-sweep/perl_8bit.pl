use strict; use warnings; use Net::SMTP;
my $s = Net::SMTP->new('127.0.0.12', Hello => 'perl.example.org', Timeout => 30) or die "connect: $@";
open my $fh, '<', $ARGV[0] or die; local $/; my $msg = <$fh>; close $fh;
$s->mail('sender@example.org', Bits => 8) or die 'MAIL ' . $s->code;
my @ok = $s->recipient('a@example.test', 'nobody@example.test', 'b@example.test', { SkipBad => 1 });
print "ok: @ok\n";
$s->data($msg) or die 'DATA ' . $s->code; $s->quit;
