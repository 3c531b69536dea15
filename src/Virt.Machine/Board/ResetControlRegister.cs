using Virt.Devices;
using Virt.Memory;

namespace Virt.Machine;

/// <summary>
/// The PIIX/ICH reset control register at port CF9h (Intel 82371AB PIIX4 datasheet, 4.1.17 "RC"): writing a
/// value with bit 2 (RST_CPU) set after bit 1 (SYS_RST) selected the reset type resets the system. Both hard and
/// soft resets restart the machine here.
/// </summary>
internal sealed class ResetControlRegister(IPlatformControl platform) : IPortDevice
{
    private const byte ResetCpu = 1 << 2;

    private byte _value;

    public AccessWidths SupportedWidths => AccessWidths.Byte;

    public uint Read(ushort offset, int sizeInBytes) => _value;

    public void Write(ushort offset, int sizeInBytes, uint value)
    {
        byte v = (byte)value;
        _value = (byte)(v & ~ResetCpu);
        if ((v & ResetCpu) != 0)
        {
            platform.RequestReset("port CF9h reset control");
        }
    }

    public void Reset() => _value = 0;
}
