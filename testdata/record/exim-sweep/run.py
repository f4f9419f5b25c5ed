import os, sys
# clients.py is next to this file, the rawsmtp.py it uses one folder up.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import clients
getattr(clients, sys.argv[1])(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
