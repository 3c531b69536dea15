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

    [Fact]
    public void LargeImageIsStreamedWithoutAWholeFileBuffer()
    {
        // 64 MiB that exist only as a formula: a whole-file byte[] would show up as 64 MiB allocated.
        const long size = 64L << 20;
        var memory = new CheckingGuestMemory(0x10_0000);
        using var image = new PatternStream(size);
        long before = GC.GetAllocatedBytesForCurrentThread();
        BootLoadResult result = FlatBinaryLoader.Load(memory, image, "big.bin", new PhysicalAddress(0x10_0000), BootEntryState.FlatProtectedMode(0x10_0000, "x"), E820Map.CreatePc(256UL << 20));
        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(size, memory.BytesChecked);
        Assert.Equal(0, memory.Mismatches);
        Assert.Contains(result.Regions, r => r.Name == "flat binary" && r.Range.LastAddress.Value == 0x10_0000 + size - 1);
        Assert.InRange(allocated, 0, size / 16);
    }

    [Fact]
    public void LargeImageThatDoesNotFitIsRejectedBeforeAnyRead()
    {
        var memory = new SparseGuestMemory();
        using var image = new PatternStream(32L << 20);
        BootImageException e = Assert.Throws<BootImageException>(() => FlatBinaryLoader.Load(memory, image, "big.bin", new PhysicalAddress(0x10_0000), BootEntryState.FlatProtectedMode(0x10_0000, "x"), s_map));
        Assert.Contains("too big for the guest's RAM", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, memory.WriteCount);
        Assert.Equal(0, image.BytesRead);
    }

    [Fact]
    public void NonSeekableStreamIsStillLoaded()
    {
        var memory = new SparseGuestMemory();
        byte[] code = TestImages.Pattern(0x3000, 9);
        using var stream = new NonSeekableStream(code);
        FlatBinaryLoader.Load(memory, stream, "pipe", new PhysicalAddress(0x10_0000), BootEntryState.FlatProtectedMode(0x10_0000, "x"), s_map);
        Assert.Equal(code, memory.ReadBytes(0x10_0000, code.Length));
    }

    [Fact]
    public void StreamThatEndsBeforeItsLengthIsNamed()
    {
        using var image = new PatternStream(0x20000, deliverOnly: 0x18000);
        BootImageException e = Assert.Throws<BootImageException>(() => FlatBinaryLoader.Load(new SparseGuestMemory(), image, "shrinking.bin", new PhysicalAddress(0x10_0000), BootEntryState.FlatProtectedMode(0x10_0000, "x"), s_map));
        Assert.Equal("shrinking.bin", e.ImageName);
        Assert.Contains("0x18000 of the 0x20000 bytes", e.Message, StringComparison.Ordinal);
    }

    /// <summary>The byte a <see cref="PatternStream"/> holds at <paramref name="offset"/>.</summary>
    private static byte PatternAt(long offset) => (byte)((offset * 7) ^ (offset >> 12));

    /// <summary>A seekable read-only stream of a computed pattern: large images without large buffers.</summary>
    private sealed class PatternStream(long length, long deliverOnly = long.MaxValue) : Stream
    {
        public long BytesRead { get; private set; }

        public override bool CanRead => true;

        public override bool CanSeek => true;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get; set; }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            int n = (int)Math.Max(0, Math.Min(buffer.Length, Math.Min(length, deliverOnly) - Position));
            for (int i = 0; i < n; i++)
            {
                buffer[i] = PatternAt(Position + i);
            }

            Position += n;
            BytesRead += n;
            return n;
        }

        public override long Seek(long offset, SeekOrigin origin) => Position = origin switch
        {
            SeekOrigin.Begin => offset,
            SeekOrigin.Current => Position + offset,
            _ => length + offset,
        };

        public override void Flush()
        {
        }

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }

    /// <summary>A read-only stream that cannot seek (a pipe).</summary>
    private sealed class NonSeekableStream(byte[] bytes) : MemoryStream(bytes, writable: false)
    {
        public override bool CanSeek => false;
    }

    /// <summary>Guest memory that keeps nothing: it checks each byte written at or above a base against the pattern.</summary>
    private sealed class CheckingGuestMemory(ulong imageBase) : IGuestMemory
    {
        public long BytesChecked { get; private set; }

        public long Mismatches { get; private set; }

        public void Read(PhysicalAddress address, Span<byte> destination) => destination.Clear();

        public void Write(PhysicalAddress address, ReadOnlySpan<byte> source)
        {
            if (address.Value < imageBase)
            {
                return;
            }

            long offset = (long)(address.Value - imageBase);
            for (int i = 0; i < source.Length; i++)
            {
                if (source[i] != PatternAt(offset + i))
                {
                    Mismatches++;
                }
            }

            BytesChecked += source.Length;
        }
    }
}
