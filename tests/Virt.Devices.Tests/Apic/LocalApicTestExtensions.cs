using Virt.Devices;
using Virt.Memory;

namespace Virt.Devices.Tests.Apic;

/// <summary>Register access by offset, as the guest's MOV to the window does it.</summary>
internal static class LocalApicTestExtensions
{
    public static uint Get(this LocalApic apic, int offset) => (uint)apic.Read(new RegionOffset((ulong)offset), 4);

    public static void Set(this LocalApic apic, int offset, uint value) => apic.Write(new RegionOffset((ulong)offset), 4, value);

    public static uint Get(this IoApic ioApic, int register)
    {
        ioApic.Write(new RegionOffset(0), 4, (uint)register);
        return (uint)ioApic.Read(new RegionOffset(0x10), 4);
    }

    public static void Set(this IoApic ioApic, int register, uint value)
    {
        ioApic.Write(new RegionOffset(0), 4, (uint)register);
        ioApic.Write(new RegionOffset(0x10), 4, value);
    }
}
