using Virt.Memory;
using Xunit;

namespace Virt.Memory.Tests.Ports;

/// <summary>A port device with a value per port offset that records every access.</summary>
public sealed class RecordingPortDevice(AccessWidths widths) : IPortDevice
{
    public int Base { get; init; }

    public Dictionary<int, uint> Values { get; } = [];

    public List<(bool IsWrite, ushort Offset, int Size, uint Value)> Accesses { get; } = [];

    public AccessWidths SupportedWidths { get; } = widths;

    public uint Read(ushort offset, int sizeInBytes)
    {
        Assert.True((SupportedWidths & (AccessWidths)sizeInBytes) != 0);
        uint v = Values.GetValueOrDefault(offset);
        Accesses.Add((false, offset, sizeInBytes, v));
        return v;
    }

    public void Write(ushort offset, int sizeInBytes, uint value)
    {
        Assert.True((SupportedWidths & (AccessWidths)sizeInBytes) != 0);
        Values[offset] = value;
        Accesses.Add((true, offset, sizeInBytes, value));
    }
}
