/* source.c - placeholder */
