using Virt.Devices;
using Virt.Memory;

namespace Virt.Machine.Tests.Running;

/// <summary>A custom port device: records byte writes, reads back the complement of the last one.</summary>
public sealed class NullPortDevice : IPortDevice
{
    public List<byte> Written { get; } = [];

    public IInterruptLine? Irq { get; set; }

    public AccessWidths SupportedWidths => AccessWidths.Byte;

    public uint Read(ushort offset, int sizeInBytes) => Written.Count == 0 ? 0u : (uint)(byte)~Written[^1];

    public void Write(ushort offset, int sizeInBytes, uint value) => Written.Add((byte)value);
}
