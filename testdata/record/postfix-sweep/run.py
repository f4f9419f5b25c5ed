import sys
sys.path.insert(0, "/tmp/psweep")
import clients
getattr(clients, sys.argv[1])(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
