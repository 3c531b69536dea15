using Virt.Machine.Boot;
using Virt.Memory;
using Xunit;

namespace Virt.Machine.Tests.Boot;

public sealed class FlatBinaryLoaderTests
{
    private static readonly IReadOnlyList<E820Entry> s_map = E820Map.CreatePc(16 * 1024 * 1024);

    [Fact]
    public void RealModeBinaryLandsAtItsAddress()
    {
        var memory = new SparseGuestMemory();
        byte[] boot = TestImages.Pattern(512, 5);
        BootEntryState entry = BootEntryState.RealMode(0x0000, 0x7C00, "boot sector") with { Edx = 0x80 };
        BootLoadResult result = FlatBinaryLoader.Load(memory, new MemoryStream(boot), "boot.bin", new PhysicalAddress(0x7C00), entry, s_map);
        Assert.Equal(boot, memory.ReadBytes(0x7C00, 512));
        Assert.Same(entry, result.Entry);
        Assert.Equal(BootCpuMode.RealMode, result.Entry.Mode);
        Assert.Equal((ushort)0, result.Entry.Cs);
        Assert.Equal(0x7C00u, result.Entry.Eip);
        Assert.Equal(0x80u, result.Entry.Edx);
        Assert.Equal(0u, result.Entry.GdtBase);
        Assert.Single(result.Regions);
        Assert.Equal(0, memory.U8(0x500)); // no GDT in real mode
    }

    [Fact]
    public void ProtectedModeBinaryGetsTheBootGdt()
    {
        var memory = new SparseGuestMemory();
        byte[] code = TestImages.Pattern(0x1234, 6);
        BootEntryState entry = BootEntryState.FlatProtectedMode(0x10_0000, "test program");
        BootLoadResult result = FlatBinaryLoader.Load(memory, new MemoryStream(code), "prog.bin", new PhysicalAddress(0x10_0000), entry, s_map);
        Assert.Equal(code, memory.ReadBytes(0x10_0000, code.Length));
        Assert.Equal(BootGdt.ToBytes(), memory.ReadBytes(0x500, 32));
        Assert.Equal((ushort)0x10, result.Entry.Cs);
        Assert.Equal((ushort)0x18, result.Entry.Ss);
        Assert.Equal(0x10_0000u, result.Entry.Eip);
        Assert.Equal(["boot GDT", "flat binary"], result.Regions.Select(r => r.Name));
    }

    [Fact]
    public void EmptyFileIsRejected()
    {
        BootImageException e = Assert.Throws<BootImageException>(() => FlatBinaryLoader.Load(new SparseGuestMemory(), new MemoryStream(), "empty.bin", new PhysicalAddress(0x7C00), BootEntryState.RealMode(0, 0x7C00, "x"), s_map));
        Assert.Equal("empty.bin: file size: the file is empty", e.Message);
    }

    [Fact]
    public void BinaryOutsideRamIsRejectedWithoutWriting()
    {
        var memory = new SparseGuestMemory();
        BootImageException e = Assert.Throws<BootImageException>(() => FlatBinaryLoader.Load(memory, new MemoryStream(new byte[0x2000]), "prog.bin", new PhysicalAddress(0xFFF000), BootEntryState.FlatProtectedMode(0xFFF000, "x"), s_map));
        Assert.Contains("too big for the guest's RAM", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, memory.WriteCount);
    }

    [Fact]
    public void BinaryOverTheGdtIsRejected()
    {
        BootImageException e = Assert.Throws<BootImageException>(() => FlatBinaryLoader.Load(new SparseGuestMemory(), new MemoryStream(new byte[0x1000]), "prog.bin", new PhysicalAddress(0), BootEntryState.FlatProtectedMode(0, "x"), s_map));
        Assert.Contains("overlaps", e.Message, StringComparison.Ordinal);
    }
}
