using Virt.Memory;

namespace Virt.Devices;

/// <summary>One of the VGA's port ranges, translating offsets back to port numbers.</summary>
internal sealed class VgaPortHandler(VgaAdapter adapter, ushort firstPort) : IPortDevice
{
    public AccessWidths SupportedWidths => AccessWidths.Byte;

    public uint Read(ushort offset, int sizeInBytes) => adapter.ReadPort((ushort)(firstPort + offset));

    public void Write(ushort offset, int sizeInBytes, uint value) => adapter.WritePort((ushort)(firstPort + offset), (byte)value);
}
