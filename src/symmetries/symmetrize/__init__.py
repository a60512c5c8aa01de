"""symmetrize"""
