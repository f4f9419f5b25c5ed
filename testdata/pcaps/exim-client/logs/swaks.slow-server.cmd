swaks --from sender@example.org --helo client.example.org --port 25 --timeout 30s --server 127.0.0.37 --local-interface 127.0.1.37 --to user@example.test --data @WORKDIR/slow.msg
