"""The sidebar: menu items, and which roles see which."""
