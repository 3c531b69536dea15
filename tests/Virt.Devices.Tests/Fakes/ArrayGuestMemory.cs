using Virt.Memory;

namespace Virt.Devices.Tests.Fakes;

/// <summary>Guest memory as one byte array from address 0 (16 MiB by default, the ISA DMA reach); accesses beyond it fail the test.</summary>
public sealed class ArrayGuestMemory(int sizeInBytes = 16 << 20) : IGuestMemory
{
    public byte[] Bytes { get; } = new byte[sizeInBytes];

    /// <summary>How many Write calls reached memory.</summary>
    public int Writes { get; private set; }

    public void Read(PhysicalAddress address, Span<byte> destination) => Bytes.AsSpan(checked((int)address.Value), destination.Length).CopyTo(destination);

    public void Write(PhysicalAddress address, ReadOnlySpan<byte> source)
    {
        Writes++;
        source.CopyTo(Bytes.AsSpan(checked((int)address.Value), source.Length));
    }
}
