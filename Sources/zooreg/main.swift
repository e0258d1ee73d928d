print("zooreg")
