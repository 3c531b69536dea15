using Virt.Machine.Boot;
using Virt.Memory;
using Xunit;

namespace Virt.Machine.Tests.Boot;

public sealed class LinuxBootLoaderTests
{
    private const ulong MiB = 1024 * 1024;

    private static LinuxLoadResult Load(SparseGuestMemory memory, byte[] kernel, ulong ramBytes = 64 * MiB, string commandLine = "console=ttyS0", byte[]? initrd = null, LinuxKernelPlacement placement = LinuxKernelPlacement.OneMegabyte, LinuxScreenInfoMode screen = LinuxScreenInfoMode.None)
    {
        var options = new LinuxBootOptions
        {
            MemoryMap = E820Map.CreatePc(ramBytes),
            CommandLine = commandLine,
            Initrd = initrd is null ? null : new MemoryStream(initrd),
            InitrdName = "initramfs.cpio.gz",
            Placement = placement,
            ScreenInfo = screen,
        };
        return LinuxBootLoader.Load(memory, new MemoryStream(kernel), "vmlinuz", options);
    }

    private static BootImageException LoadFails(byte[] kernel, ulong ramBytes = 64 * MiB, string commandLine = "", byte[]? initrd = null)
    {
        var memory = new SparseGuestMemory();
        BootImageException e = Assert.Throws<BootImageException>(() => Load(memory, kernel, ramBytes, commandLine, initrd));
        Assert.Equal(0, memory.WriteCount); // nothing half-built
        return e;
    }

    [Fact]
    public void ProtectedModeKernelLandsAtOneMegabyte()
    {
        var memory = new SparseGuestMemory();
        byte[] kernel = TestImages.BzImage(payloadSize: 0x3000);
        LinuxLoadResult result = Load(memory, kernel);
        Assert.Equal(new PhysicalAddress(0x10_0000), result.KernelAddress);
        Assert.Equal(kernel.AsSpan(TestImages.BzProtectedModeOffset).ToArray(), memory.ReadBytes(0x10_0000, 0x3000));
    }

    [Fact]
    public void EntryStateFollowsThe32BitBootProtocol()
    {
        var memory = new SparseGuestMemory();
        BootEntryState entry = Load(memory, TestImages.BzImage()).Entry;
        // boot.rst, "32-bit Boot Protocol": CS = __BOOT_CS (0x10), DS = ES = SS = __BOOT_DS (0x18),
        // ESI = boot_params, EBP = EDI = EBX = 0, interrupts off, EIP = code32_start.
        Assert.Equal(BootCpuMode.ProtectedMode32, entry.Mode);
        Assert.Equal(0x10_0000u, entry.Eip);
        Assert.Equal((ushort)0x10, entry.Cs);
        Assert.Equal((ushort)0x18, entry.Ds);
        Assert.Equal((ushort)0x18, entry.Es);
        Assert.Equal((ushort)0x18, entry.Ss);
        Assert.Equal(0x7000u, entry.Esi);
        Assert.Equal(0u, entry.Ebp);
        Assert.Equal(0u, entry.Edi);
        Assert.Equal(0u, entry.Ebx);
        Assert.False(entry.InterruptsEnabled);
        Assert.Equal(0x500u, entry.GdtBase);
        Assert.Equal((ushort)0x1F, entry.GdtLimit);
        Assert.Contains("vmlinuz", entry.Description, StringComparison.Ordinal);
        Assert.Contains("2.15", entry.Description, StringComparison.Ordinal);
        Assert.Contains("6.1.0-test", entry.Description, StringComparison.Ordinal);
        Assert.Contains("CS:EIP=0010:00100000", entry.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void BootGdtHasFlatCodeAndDataAtTheLinuxSelectors()
    {
        var memory = new SparseGuestMemory();
        Load(memory, TestImages.BzImage());
        Assert.Equal(0UL, memory.U64(0x500));
        Assert.Equal(0UL, memory.U64(0x508));
        // base 0, limit 0xFFFFF pages, G=1 D=1, present ring 0 code execute/read (accessed).
        Assert.Equal(0x00CF_9B00_0000_FFFFUL, memory.U64(0x510));
        // the same, data read/write (accessed).
        Assert.Equal(0x00CF_9300_0000_FFFFUL, memory.U64(0x518));
    }

    [Fact]
    public void ZeroPageHoldsTheSetupHeaderAndTheLoaderFields()
    {
        var memory = new SparseGuestMemory();
        Load(memory, TestImages.BzImage(), commandLine: "console=ttyS0 panic=-1");
        const ulong bp = 0x7000;
        // The setup header copied from 0x1F1 of the image.
        Assert.Equal(4, memory.U8(bp + 0x1F1));
        Assert.Equal(0xAA55, memory.U16(bp + 0x1FE));
        Assert.Equal(0x53726448u, memory.U32(bp + 0x202)); // "HdrS"
        Assert.Equal(0x020F, memory.U16(bp + 0x206));
        Assert.Equal(0x0100_0000UL, memory.U64(bp + 0x258));
        // What the loader owns.
        Assert.Equal(0xFF, memory.U8(bp + 0x210)); // type_of_loader: undefined
        Assert.Equal(0x81, memory.U8(bp + 0x211)); // LOADED_HIGH | CAN_USE_HEAP
        Assert.Equal(0xDE00, memory.U16(bp + 0x224)); // heap_end_ptr
        Assert.Equal(0x10_0000u, memory.U32(bp + 0x214)); // code32_start
        Assert.Equal(0x2_0000u, memory.U32(bp + 0x228)); // cmd_line_ptr
        Assert.Equal(0u, memory.U32(bp + 0x0C8)); // ext_cmd_line_ptr
        Assert.Equal("console=ttyS0 panic=-1", memory.CString(0x2_0000));
        Assert.Equal(0u, memory.U32(bp + 0x218)); // no initrd
        Assert.Equal(0u, memory.U32(bp + 0x21C));
        Assert.Equal(0, memory.U8(bp + 0x1EF)); // sentinel stays zero
        // KiB of RAM above 1 MiB (64 MiB RAM): 63 MiB.
        Assert.Equal(63u * 1024, memory.U32(bp + 0x1E0)); // alt_mem_k
        Assert.Equal((ushort)(63 * 1024), memory.U16(bp + 0x002)); // screen_info.ext_mem_k
        // No display: video mode, columns and lines zero keep vgacon off.
        Assert.Equal(0, memory.U8(bp + 0x06));
        Assert.Equal(0, memory.U8(bp + 0x07));
        Assert.Equal(0, memory.U8(bp + 0x0E));
        Assert.Equal(0, memory.U8(bp + 0x0F));
    }

    [Fact]
    public void VgaTextScreenInfoDescribesMode3()
    {
        var memory = new SparseGuestMemory();
        Load(memory, TestImages.BzImage(), screen: LinuxScreenInfoMode.VgaText80x25);
        Assert.Equal(3, memory.U8(0x7000 + 0x06));
        Assert.Equal(80, memory.U8(0x7000 + 0x07));
        Assert.Equal(25, memory.U8(0x7000 + 0x0E));
        Assert.Equal(1, memory.U8(0x7000 + 0x0F));
        Assert.Equal(16, memory.U16(0x7000 + 0x10));
    }

    [Fact]
    public void E820TableIsCopiedIntoTheZeroPage()
    {
        var memory = new SparseGuestMemory();
        Load(memory, TestImages.BzImage(), ramBytes: 128 * MiB);
        IReadOnlyList<E820Entry> map = E820Map.CreatePc(128 * MiB);
        Assert.Equal(map.Count, memory.U8(0x7000 + 0x1E8));
        for (int i = 0; i < map.Count; i++)
        {
            ulong e = 0x7000 + 0x2D0 + (ulong)(i * 20);
            Assert.Equal(map[i].Start.Value, memory.U64(e));
            Assert.Equal(map[i].SizeInBytes, memory.U64(e + 8));
            Assert.Equal((uint)map[i].Type, memory.U32(e + 16));
        }

        // 1 MiB .. 128 MiB is the fourth entry.
        Assert.Equal(0x10_0000UL, memory.U64(0x7000 + 0x2D0 + 60));
        Assert.Equal(127 * MiB, memory.U64(0x7000 + 0x2D0 + 68));
        Assert.Equal(1u, memory.U32(0x7000 + 0x2D0 + 76));
    }

    [Fact]
    public void InitrdGoesAsHighAsPossiblePageAligned()
    {
        var memory = new SparseGuestMemory();
        byte[] initrd = TestImages.Pattern(100_000, 9);
        LinuxLoadResult result = Load(memory, TestImages.BzImage(), ramBytes: 64 * MiB, initrd: initrd);
        // Top of RAM is 64 MiB; 100000 bytes below it, rounded down to a page: 0x3FE7000.
        ulong expected = ((64 * MiB) - 100_000) & ~0xFFFUL;
        Assert.Equal(expected, result.InitrdRange!.Value.Start.Value);
        Assert.Equal(0UL, expected & 0xFFF);
        Assert.Equal((uint)expected, memory.U32(0x7000 + 0x218)); // ramdisk_image
        Assert.Equal(100_000u, memory.U32(0x7000 + 0x21C)); // ramdisk_size
        Assert.Equal(0u, memory.U32(0x7000 + 0x0C0)); // ext_ramdisk_image
        Assert.Equal(0u, memory.U32(0x7000 + 0x0C4)); // ext_ramdisk_size
        Assert.Equal(initrd, memory.ReadBytes(expected, initrd.Length));
    }

    [Fact]
    public void InitrdStaysBelowInitrdAddrMax()
    {
        var memory = new SparseGuestMemory();
        // initrd_addr_max 0x02FFFFFF (48 MiB - 1) on a 64 MiB guest.
        LinuxLoadResult result = Load(memory, TestImages.BzImage(initrdAddrMax: 0x02FF_FFFF), initrd: new byte[0x2000]);
        Assert.Equal(0x0300_0000UL - 0x2000, result.InitrdRange!.Value.Start.Value);
        Assert.Equal(0x02FF_FFFFUL, result.InitrdRange!.Value.LastAddress.Value);
    }

    [Fact]
    public void InitrdAvoidsTheKernelInitSizeArea()
    {
        var memory = new SparseGuestMemory();
        // 26 MiB of RAM; the kernel decompresses at pref_address 16 MiB and needs init_size 8 MiB, up to
        // 24 MiB. A 3 MiB initrd does not fit between 24 and 26 MiB, so it goes just below 16 MiB.
        LinuxLoadResult result = Load(memory, TestImages.BzImage(), ramBytes: 26 * MiB, initrd: new byte[3 * MiB]);
        Assert.Equal(13 * MiB, result.InitrdRange!.Value.Start.Value);
        Assert.Contains(result.Regions, r => r.Name == "kernel init_size area" && r.Range.Start.Value == 16 * MiB && r.Range.LastAddress.Value == (24 * MiB) - 1);
    }

    [Fact]
    public void PreferredAddressPlacementLoadsARelocatableKernelAtPrefAddress()
    {
        var memory = new SparseGuestMemory();
        byte[] kernel = TestImages.BzImage();
        LinuxLoadResult result = Load(memory, kernel, placement: LinuxKernelPlacement.PreferredAddress);
        Assert.Equal(0x100_0000UL, result.KernelAddress.Value);
        Assert.Equal(0x100_0000u, result.Entry.Eip);
        Assert.Equal(0x100_0000u, memory.U32(0x7000 + 0x214));
        Assert.Equal(kernel[TestImages.BzProtectedModeOffset], memory.U8(0x100_0000));
    }

    [Fact]
    public void PreferredAddressPlacementFallsBackForNonRelocatableKernels()
    {
        byte[] kernel = TestImages.BzImage();
        kernel[0x234] = 0;
        LinuxLoadResult result = Load(new SparseGuestMemory(), kernel, placement: LinuxKernelPlacement.PreferredAddress);
        Assert.Equal(0x10_0000UL, result.KernelAddress.Value);
    }

    [Fact]
    public void SetupHeaderParsesTheDocumentedFields()
    {
        LinuxSetupHeader h = LinuxSetupHeader.Parse(TestImages.BzImage(payloadSize: 0x1234), "vmlinuz");
        Assert.Equal(4, h.SetupSectors);
        Assert.Equal(0xA00, h.ProtectedModeOffset);
        Assert.Equal(0x020F, h.Version);
        Assert.Equal("2.15", h.VersionText);
        Assert.True(h.LoadedHigh);
        Assert.True(h.RelocatableKernel);
        Assert.Equal(0x20_0000u, h.KernelAlignment);
        Assert.Equal(2047u, h.CommandLineSize);
        Assert.Equal(0x7FFF_FFFFu, h.InitrdAddressMax);
        Assert.Equal(0x100_0000UL, h.PreferredAddress);
        Assert.Equal(0x80_0000u, h.InitSize);
        Assert.Equal(0x268, h.HeaderEndOffset);
        Assert.Equal("6.1.0-test (virt@test) #1 SMP", h.KernelVersion);
    }

    [Fact]
    public void SetupSectorsZeroMeansFour()
    {
        byte[] kernel = TestImages.BzImage();
        kernel[0x1F1] = 0;
        Assert.Equal(4, LinuxSetupHeader.Parse(kernel, "vmlinuz").SetupSectors);
    }

    [Fact]
    public void TruncatedFileIsRejected()
    {
        BootImageException e = LoadFails(TestImages.BzImage().AsSpan(0, 0x100).ToArray());
        Assert.Equal("vmlinuz", e.ImageName);
        Assert.Contains("vmlinuz: setup header", e.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FileEndingInsideTheSetupCodeIsRejected()
    {
        BootImageException e = LoadFails(TestImages.BzImage().AsSpan(0, 0x900).ToArray());
        Assert.Contains("setup_sects", e.Message, StringComparison.Ordinal);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadMagicIsRejected()
    {
        byte[] kernel = TestImages.BzImage();
        kernel[0x202] = (byte)'X';
        BootImageException e = LoadFails(kernel);
        Assert.StartsWith("vmlinuz: setup header magic: 'HdrS' not found at offset 0x202", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadBootFlagIsRejected()
    {
        byte[] kernel = TestImages.BzImage();
        kernel[0x1FE] = 0;
        BootImageException e = LoadFails(kernel);
        Assert.Contains("boot_flag", e.Message, StringComparison.Ordinal);
        Assert.Contains("0xAA55", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OldProtocolIsRejected()
    {
        BootImageException e = LoadFails(TestImages.BzImage(version: 0x0204));
        Assert.Equal("version", e.Field);
        Assert.Contains("2.04", e.Message, StringComparison.Ordinal);
        Assert.Contains("2.06 or later", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ZImageWithoutLoadedHighIsRejected()
    {
        BootImageException e = LoadFails(TestImages.BzImage(loadFlags: 0));
        Assert.Contains("LOADED_HIGH", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CommandLineLongerThanCmdlineSizeIsRejected()
    {
        BootImageException e = LoadFails(TestImages.BzImage(cmdlineSize: 16), commandLine: "console=ttyS0 loglevel=8");
        Assert.Equal("cmdline_size", e.Field);
        Assert.Contains("24 bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KernelTooBigForRamIsRejected()
    {
        // 16 MiB of RAM cannot hold the decompression area at 16 MiB + 8 MiB.
        BootImageException e = LoadFails(TestImages.BzImage(), ramBytes: 16 * MiB);
        Assert.Equal("kernel init_size area", e.Field);
        Assert.Contains("too big for the guest's RAM", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void InitrdTooBigForRamIsRejected()
    {
        BootImageException e = LoadFails(TestImages.BzImage(), ramBytes: 32 * MiB, initrd: new byte[40 * MiB]);
        Assert.Equal("initramfs.cpio.gz", e.ImageName);
        Assert.Equal("initrd size", e.Field);
        Assert.Contains("the guest needs more memory", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TooManyE820EntriesAreRejected()
    {
        var map = Enumerable.Range(0, 129).Select(i => new E820Entry(new PhysicalAddress((ulong)i * 0x10_0000), 0x10_0000, E820EntryType.Ram)).ToList();
        var options = new LinuxBootOptions { MemoryMap = map };
        Assert.Throws<ArgumentException>(() => LinuxBootLoader.Load(new SparseGuestMemory(), new MemoryStream(TestImages.BzImage()), "vmlinuz", options));
    }

    [Fact]
    public void RegionsListEverythingWritten()
    {
        LinuxLoadResult result = Load(new SparseGuestMemory(), TestImages.BzImage(), initrd: new byte[10]);
        string[] names = [.. result.Regions.Select(r => r.Name)];
        Assert.Equal(["boot GDT", "boot stack", "boot_params", "command line", "kernel", "kernel init_size area", "initrd"], names);
    }

    [Fact]
    public void LoadsIntoAPcMemoryMapBuiltFromTheSameLayout()
    {
        // What the machine does: RAM from CreatePcRamRanges, the e820 map from CreatePc, then the loader.
        const ulong ram = 256 * MiB;
        var builder = new PhysicalMemoryMapBuilder();
        int index = 0;
        foreach (AddressRange range in E820Map.CreatePcRamRanges(ram))
        {
            builder.AddRam($"ram{index++}", range.Start, range.SizeInBytesMinusOne + 1);
        }

        PhysicalMemoryMap map = builder.Build();
        byte[] kernel = TestImages.BzImage();
        byte[] initrd = TestImages.Pattern(0x5432, 77);
        LinuxLoadResult result = LinuxBootLoader.Load(map, new MemoryStream(kernel), "vmlinuz", new LinuxBootOptions
        {
            MemoryMap = E820Map.CreatePc(ram),
            CommandLine = "console=ttyS0",
            Initrd = new MemoryStream(initrd),
        });
        Assert.Equal(kernel[TestImages.BzProtectedModeOffset + 5], map.ReadByte(new PhysicalAddress(0x10_0005)));
        Assert.Equal(0x53726448u, map.ReadDoubleWord(new PhysicalAddress(0x7000 + 0x202)));
        Assert.Equal((uint)result.InitrdRange!.Value.Start.Value, map.ReadDoubleWord(new PhysicalAddress(0x7000 + 0x218)));
        Assert.Equal(initrd[^1], map.ReadByte(result.InitrdRange!.Value.LastAddress));
        Assert.Equal(ram - 0x6000, result.InitrdRange!.Value.Start.Value); // 0x5432 bytes round down to 6 pages below the top
    }
}
