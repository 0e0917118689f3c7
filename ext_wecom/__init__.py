"""The WeCom (企业微信) extension: settings, accounts, push, and the portal."""
