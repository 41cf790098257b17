"""qualkit browser app, for `streamlit run app.py -- --project PATH` from a source checkout.

`qualkit app` is the usual way to start it. Both run the same packaged app
(qualkit/ui/app.py), and both are local and silent: `.streamlit/config.toml` here and the one
beside the packaged script bind 127.0.0.1, run headless (no first-run e-mail prompt), send no
usage statistics and hide the Deploy button.
"""

from qualkit.ui.app import main

main()
