swaks --from sender@example.org --helo client.example.org --port 25 --timeout 30s --server 127.0.0.38 --local-interface 127.0.1.38 --to user@example.test
