using Virt.Memory;

namespace Virt.Devices;

/// <summary>The Bochs VBE index (1CEh) and data (1CFh) ports: 16-bit registers; a byte access reaches the low byte.</summary>
internal sealed class VgaVbePortHandler(VgaAdapter adapter) : IPortDevice
{
    public AccessWidths SupportedWidths => AccessWidths.Byte | AccessWidths.Word;

    public uint Read(ushort offset, int sizeInBytes) => adapter.ReadVbePort(offset, sizeInBytes);

    public void Write(ushort offset, int sizeInBytes, uint value) => adapter.WriteVbePort(offset, sizeInBytes, (ushort)value);
}
