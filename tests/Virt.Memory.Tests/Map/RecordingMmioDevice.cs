using Virt.Memory;
using Xunit;

namespace Virt.Memory.Tests.Map;

/// <summary>An MMIO device backed by a byte array that records every access it receives.</summary>
public sealed class RecordingMmioDevice(int sizeInBytes, AccessWidths widths) : IMmioDevice
{
    public byte[] Bytes { get; } = new byte[sizeInBytes];

    public List<(bool IsWrite, ulong Offset, int Size, ulong Value)> Accesses { get; } = [];

    public AccessWidths SupportedWidths { get; } = widths;

    public ulong Read(RegionOffset offset, int sizeInBytes)
    {
        Assert.True((SupportedWidths & (AccessWidths)sizeInBytes) != 0, $"device got an unsupported {sizeInBytes}-byte read");
        Assert.Equal(0UL, offset.Value % (ulong)sizeInBytes);
        ulong v = 0;
        for (int i = 0; i < sizeInBytes; i++)
        {
            v |= (ulong)Bytes[(int)offset.Value + i] << (8 * i);
        }

        Accesses.Add((false, offset.Value, sizeInBytes, v));
        return v;
    }

    public void Write(RegionOffset offset, int sizeInBytes, ulong value)
    {
        Assert.True((SupportedWidths & (AccessWidths)sizeInBytes) != 0, $"device got an unsupported {sizeInBytes}-byte write");
        Assert.Equal(0UL, offset.Value % (ulong)sizeInBytes);
        for (int i = 0; i < sizeInBytes; i++)
        {
            Bytes[(int)offset.Value + i] = (byte)(value >> (8 * i));
        }

        Accesses.Add((true, offset.Value, sizeInBytes, value));
    }
}
