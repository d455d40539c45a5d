from kjob.cli import main

main()
