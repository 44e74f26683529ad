"""HTTP: conditional feed polls (client) over the lean HTTP/1.1 transport that webhooks use too."""
