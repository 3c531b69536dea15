// Virt.Run: the QEMU-style command line. The machine layer (builder, run loop, boot loaders) is
// still being built; until it lands this program says so instead of pretending to boot anything.
Console.Error.WriteLine("Virt.Run: the machine layer is not implemented yet; see README.md for the current status.");
return 2;
