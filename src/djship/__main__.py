from djship.cli import main

main()
