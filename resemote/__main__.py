from resemote.cli import main

raise SystemExit(main())
