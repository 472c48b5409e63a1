/* km-true: a distinct small binary for the memfd exec of the kernel-matrix scenario (its bytes
 * are copied into a memfd and run from there; the capture must store exactly these bytes). */
int main(void)
{
	return 0;
}
