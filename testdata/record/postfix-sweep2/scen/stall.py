def run(srv,cli):
    c=conn(srv,cli); c.r()
    c.r(10)   # wait for the 421 timeout
    c.sleep(0.5); c.close()
