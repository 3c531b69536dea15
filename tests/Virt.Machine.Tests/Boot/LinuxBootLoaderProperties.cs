using FsCheck.Xunit;
using Virt.Machine.Boot;

namespace Virt.Machine.Tests.Boot;

/// <summary>Properties of the Linux loader's placement against the rules of boot.rst.</summary>
public sealed class LinuxBootLoaderProperties
{
    // For any RAM size, initrd size and initrd_addr_max, either the load fails with a BootImageException
    // and writes nothing, or the initrd is page-aligned, inside one RAM entry, at or below initrd_addr_max,
    // and clear of every other region (kernel, its init_size area, zero page, command line, GDT).
    [Property(MaxTest = 200)]
    public bool InitrdPlacementObeysTheProtocol(byte ramMiB, ushort initrdKiB, byte maxMiB)
    {
        ulong ram = (ulong)(ramMiB % 96 + 1) * 1024 * 1024;
        ulong initrdSize = (ulong)(initrdKiB % 40960) * 1024 + 1;
        uint initrdAddrMax = (uint)((maxMiB % 128 + 2) * 1024 * 1024) - 1;
        var memory = new SparseGuestMemory();
        var options = new LinuxBootOptions
        {
            MemoryMap = E820Map.CreatePc(ram),
            Initrd = new MemoryStream(new byte[initrdSize]),
        };
        LinuxLoadResult result;
        try
        {
            result = LinuxBootLoader.Load(memory, new MemoryStream(TestImages.BzImage(initrdAddrMax: initrdAddrMax)), "vmlinuz", options);
        }
        catch (BootImageException)
        {
            return memory.WriteCount == 0;
        }

        var initrd = result.InitrdRange!.Value;
        bool aligned = (initrd.Start.Value & 0xFFF) == 0;
        bool belowMax = initrd.LastAddress.Value <= initrdAddrMax;
        bool inRam = E820Map.FindRam(options.MemoryMap, initrd.Start) is { } e && initrd.LastAddress <= e.LastAddress;
        bool clear = result.Regions.Where(r => r.Name != "initrd").All(r => !r.Range.Intersects(initrd));
        return aligned && belowMax && inRam && clear;
    }
}
