/* nothing: a do-nothing program (the benchmark's baseline hook). */
int
main (void)
{
  return 0;
}
