# swaks_keylog.pm: make swaks (which drives Net::SSLeay directly) write the
# TLS session keys to $SMTPCAP_KEYLOG in NSS key log format, so that
# `tshark -o tls.keylog_file:FILE` can decrypt the capture. Loaded by
# record-postfix.sh with PERL5OPT="-I$HERE -Mswaks_keylog" for one swaks run.
#
# Net::SSLeay is loaded and CTX_new wrapped in an INIT block, i.e. after swaks
# has been compiled: loading it earlier would give swaks' calls Net::SSLeay's
# prototypes and break its compilation.
package swaks_keylog;
use strict;
use warnings;

INIT {
	my $file = $ENV{SMTPCAP_KEYLOG} or die "swaks_keylog: SMTPCAP_KEYLOG not set\n";
	require Net::SSLeay;
	my $orig = \&Net::SSLeay::CTX_new;
	no warnings qw(redefine prototype);
	*Net::SSLeay::CTX_new = sub {
		my $ctx = $orig->(@_);
		if ($ctx) {
			Net::SSLeay::CTX_set_keylog_callback($ctx, sub {
				my (undef, $line) = @_;
				open(my $fh, '>>', $file) or die "swaks_keylog: $file: $!\n";
				print $fh "$line\n";
				close($fh);
			});
		}
		return $ctx;
	};
}
1;
