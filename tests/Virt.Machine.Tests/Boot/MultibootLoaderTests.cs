using Virt.Machine.Boot;
using Virt.Memory;
using Xunit;

namespace Virt.Machine.Tests.Boot;

public sealed class MultibootLoaderTests
{
    private const ulong MiB = 1024 * 1024;

    private static readonly byte[] s_text = TestImages.Pattern(0x1800, 1);
    private static readonly byte[] s_rodata = TestImages.Pattern(0x300, 2);
    private static readonly byte[] s_data = TestImages.Pattern(0x80, 3);

    // Three PT_LOAD segments: text at 1 MiB, rodata at 1 MiB + 8 KiB, data + bss (0x80 bytes of file,
    // 0x4000 in memory) at 1 MiB + 16 KiB, so the kernel ends at 0x108000.
    private static byte[] ThreeSegmentKernel(uint flags = 0x3) => TestImages.Elf32(
        entry: 0x10_0010,
        [
            new TestImages.Segment(0x10_0000, s_text, 0x1800),
            new TestImages.Segment(0x10_2000, s_rodata, 0x300),
            new TestImages.Segment(0x10_4000, s_data, 0x4000),
        ],
        flags);

    private static MultibootLoadResult Load(SparseGuestMemory memory, byte[] kernel, ulong ramBytes = 32 * MiB, string commandLine = "kernel.elf loglevel=3", IReadOnlyList<MultibootModuleSource>? modules = null)
    {
        var options = new MultibootOptions { MemoryMap = E820Map.CreatePc(ramBytes), CommandLine = commandLine, Modules = modules ?? [] };
        return MultibootLoader.Load(memory, new MemoryStream(kernel), "kernel.elf", options);
    }

    private static BootImageException LoadFails(byte[] kernel, ulong ramBytes = 32 * MiB, IReadOnlyList<MultibootModuleSource>? modules = null)
    {
        var memory = new SparseGuestMemory();
        BootImageException e = Assert.Throws<BootImageException>(() => Load(memory, kernel, ramBytes, modules: modules));
        Assert.Equal(0, memory.WriteCount); // nothing half-built
        return e;
    }

    [Fact]
    public void ElfSegmentsLandAtTheirPhysicalAddressesWithBssZeroed()
    {
        var memory = new SparseGuestMemory();
        memory.Write(new PhysicalAddress(0x10_4080), [0xEE, 0xEE, 0xEE]); // stale bytes where the bss goes
        MultibootLoadResult result = Load(memory, ThreeSegmentKernel());
        Assert.Equal(MultibootKernelFormat.Elf32, result.Format);
        Assert.Equal(s_text, memory.ReadBytes(0x10_0000, s_text.Length));
        Assert.Equal(s_rodata, memory.ReadBytes(0x10_2000, s_rodata.Length));
        Assert.Equal(s_data, memory.ReadBytes(0x10_4000, s_data.Length));
        Assert.All(memory.ReadBytes(0x10_4080, 0x4000 - 0x80), b => Assert.Equal(0, b));
    }

    [Fact]
    public void EntryStateFollowsTheMultibootMachineState()
    {
        var memory = new SparseGuestMemory();
        BootEntryState entry = Load(memory, ThreeSegmentKernel()).Entry;
        Assert.Equal(BootCpuMode.ProtectedMode32, entry.Mode);
        Assert.Equal(0x10_0010u, entry.Eip);
        Assert.Equal(0x2BAD_B002u, entry.Eax);
        Assert.Equal(0x9000u, entry.Ebx);
        Assert.Equal((ushort)0x10, entry.Cs);
        Assert.Equal((ushort)0x18, entry.Ds);
        Assert.Equal((ushort)0x18, entry.Ss);
        Assert.False(entry.InterruptsEnabled);
        Assert.True(entry.A20Enabled);
        Assert.Equal(0x00CF_9B00_0000_FFFFUL, memory.U64(entry.GdtBase + entry.Cs));
        Assert.Equal(0x00CF_9300_0000_FFFFUL, memory.U64(entry.GdtBase + entry.Ds));
    }

    [Fact]
    public void InfoStructureHasMemoryCommandLineLoaderNameAndMap()
    {
        var memory = new SparseGuestMemory();
        Load(memory, ThreeSegmentKernel(), ramBytes: 32 * MiB);
        const ulong mbi = 0x9000;
        uint flags = memory.U32(mbi);
        Assert.Equal(0x1u | 0x2 | 0x4 | 0x8 | 0x40 | 0x200, flags);
        Assert.Equal(0x8000_FFFFu, memory.U32(mbi + 12)); // boot_device: drive 80h, no partition
        Assert.Equal(639u, memory.U32(mbi + 4)); // mem_lower: 0-9FBFFh
        Assert.Equal(31u * 1024, memory.U32(mbi + 8)); // mem_upper: 1 MiB-32 MiB
        Assert.Equal("kernel.elf loglevel=3", memory.CString(memory.U32(mbi + 16)));
        Assert.Equal(0u, memory.U32(mbi + 20)); // mods_count
        Assert.Equal("Virt", memory.CString(memory.U32(mbi + 64)));

        IReadOnlyList<E820Entry> map = E820Map.CreatePc(32 * MiB);
        uint mmapLength = memory.U32(mbi + 44);
        uint mmapAddress = memory.U32(mbi + 48);
        Assert.Equal((uint)(map.Count * 24), mmapLength);
        ulong entry = mmapAddress;
        foreach (E820Entry e in map)
        {
            Assert.Equal(20u, memory.U32(entry)); // size, not counting itself
            Assert.Equal(e.Start.Value, memory.U64(entry + 4));
            Assert.Equal(e.SizeInBytes, memory.U64(entry + 12));
            Assert.Equal((uint)e.Type, memory.U32(entry + 20));
            entry += memory.U32(entry) + 4; // how a kernel walks the map
        }
    }

    [Fact]
    public void ModulesArePageAlignedAfterTheKernelWithTheirStrings()
    {
        var memory = new SparseGuestMemory();
        byte[] first = TestImages.Pattern(5000, 40);
        byte[] second = TestImages.Pattern(123, 50);
        MultibootLoadResult result = Load(memory, ThreeSegmentKernel(), modules:
        [
            new MultibootModuleSource(new MemoryStream(first), "initrd.img", "initrd.img root=/dev/ram0"),
            new MultibootModuleSource(new MemoryStream(second), "fonts.bin", "fonts.bin"),
        ]);
        // The kernel ends at 0x108000 (bss included): modules at 0x108000 and 0x10A000 (5000 bytes round up to two pages).
        Assert.Equal(2u, memory.U32(0x9000 + 20));
        ulong mods = memory.U32(0x9000 + 24);
        Assert.Equal(0x10_8000u, memory.U32(mods));
        Assert.Equal(0x10_8000u + 5000, memory.U32(mods + 4)); // mod_end: one past the last byte
        Assert.Equal("initrd.img root=/dev/ram0", memory.CString(memory.U32(mods + 8)));
        Assert.Equal(0u, memory.U32(mods + 12));
        Assert.Equal(0x10_A000u, memory.U32(mods + 16));
        Assert.Equal(0x10_A000u + 123, memory.U32(mods + 20));
        Assert.Equal("fonts.bin", memory.CString(memory.U32(mods + 24)));
        Assert.Equal(first, memory.ReadBytes(0x10_8000, first.Length));
        Assert.Equal(second, memory.ReadBytes(0x10_A000, second.Length));
        Assert.Equal(0x10_8000UL, result.Modules[0]!.Value.Start.Value);
        Assert.All(result.Modules, m => Assert.Equal(0UL, m!.Value.Start.Value & 0xFFF));
    }

    /// <summary>
    /// A zero-byte module file (found by the placement property once its seed covered the full int range): the load succeeds,
    /// the module entry has mod_start = mod_end on a page boundary, and the next module still gets its own page.
    /// </summary>
    [Fact]
    public void EmptyModuleLoadsAsAnEmptyRange()
    {
        var memory = new SparseGuestMemory();
        byte[] second = TestImages.Pattern(123, 50);
        Load(memory, ThreeSegmentKernel(), modules:
        [
            new MultibootModuleSource(new MemoryStream([]), "empty.img", "empty.img"),
            new MultibootModuleSource(new MemoryStream(second), "fonts.bin", "fonts.bin"),
        ]);
        ulong mods = memory.U32(0x9000 + 24);
        Assert.Equal(2u, memory.U32(0x9000 + 20));
        Assert.Equal(0x10_8000u, memory.U32(mods));
        Assert.Equal(0x10_8000u, memory.U32(mods + 4));
        Assert.Equal("empty.img", memory.CString(memory.U32(mods + 8)));
        Assert.Equal(0u, memory.U32(mods + 16) & 0xFFF);
        Assert.Equal(second, memory.ReadBytes(memory.U32(mods + 16), second.Length));
    }

    [Fact]
    public void HigherHalfEntryPointIsTranslatedToItsPhysicalAddress()
    {
        byte[] kernel = TestImages.Elf32(0xC010_0020, [new TestImages.Segment(0x10_0000, s_text, 0x2000, VirtualAddress: 0xC010_0000)]);
        MultibootLoadResult result = Load(new SparseGuestMemory(), kernel);
        Assert.Equal(0x10_0020u, result.Entry.Eip);
    }

    [Fact]
    public void AddressFieldsKludgeLoadsTheImageAndZeroesBss()
    {
        // A flat image whose Multiboot header is at offset 0x40; the file starts at load_addr 1 MiB,
        // so header_addr = 1 MiB + 0x40. 0x1000 bytes are loaded, bss runs to 1 MiB + 0x3000.
        byte[] image = TestImages.Pattern(0x1200, 7);
        TestImages.MultibootHeader(0x1_0003, headerAddr: 0x10_0040, loadAddr: 0x10_0000, loadEndAddr: 0x10_1000, bssEndAddr: 0x10_3000, entryAddr: 0x10_0080).CopyTo(image, 0x40);
        var memory = new SparseGuestMemory();
        memory.Write(new PhysicalAddress(0x10_1000), [0xAA]);
        MultibootLoadResult result = Load(memory, image);
        Assert.Equal(MultibootKernelFormat.AddressFields, result.Format);
        Assert.Equal(0x10_0080u, result.Entry.Eip);
        Assert.Equal(image.AsSpan(0, 0x1000).ToArray(), memory.ReadBytes(0x10_0000, 0x1000));
        Assert.All(memory.ReadBytes(0x10_1000, 0x2000), b => Assert.Equal(0, b));
        Assert.Contains(result.Regions, r => r.Name == "kernel" && r.Range.LastAddress.Value == 0x10_2FFF);
    }

    [Fact]
    public void AddressFieldsWithZeroLoadEndLoadToTheEndOfTheFile()
    {
        byte[] image = TestImages.Pattern(0x900, 8);
        TestImages.MultibootHeader(0x1_0000, headerAddr: 0x20_0010, loadAddr: 0x20_0000, loadEndAddr: 0, bssEndAddr: 0, entryAddr: 0x20_0000).CopyTo(image, 0x10);
        var memory = new SparseGuestMemory();
        Load(memory, image);
        Assert.Equal(image, memory.ReadBytes(0x20_0000, image.Length));
    }

    [Fact]
    public void MissingHeaderIsRejected()
    {
        byte[] kernel = ThreeSegmentKernel();
        Array.Clear(kernel, 0x200, 12);
        BootImageException e = LoadFails(kernel);
        Assert.Equal("kernel.elf: multiboot header: no magic 0x1BADB002 at a 4-byte-aligned offset in the first 8192 bytes", e.Message);
    }

    [Fact]
    public void HeaderPastTheFirst8KiBIsNotFound()
    {
        byte[] image = new byte[0x3000];
        TestImages.MultibootHeader(0x1_0000, 0x10_2000, 0x10_0000, 0, 0, 0x10_0000).CopyTo(image, 0x2000);
        Assert.Contains("no magic", LoadFails(image).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void BadChecksumIsRejected()
    {
        BootImageException e = LoadFails(TestImages.Elf32(0x10_0000, [new TestImages.Segment(0x10_0000, s_text, 0x1800)], multibootHeader: TestImages.MultibootHeader(0x3, checksum: 0x1234)));
        Assert.Contains("offset 0x200 has checksum 0x00001234", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void VideoModeRequirementIsRejected()
    {
        BootImageException e = LoadFails(ThreeSegmentKernel(flags: 0x7));
        Assert.Equal("multiboot header flags", e.Field);
        Assert.Contains("bit 2 (video mode", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void UndefinedRequiredFlagIsRejected()
    {
        BootImageException e = LoadFails(ThreeSegmentKernel(flags: 0x23));
        Assert.Contains("required bits 0x0020", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Elf64IsRejected()
    {
        BootImageException e = LoadFails(TestImages.Elf32(0x10_0000, [new TestImages.Segment(0x10_0000, s_text, 0x1800)], elfClass: 2));
        Assert.Contains("ELFCLASS64", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NonElfWithoutAddressFieldsIsRejected()
    {
        byte[] image = new byte[0x1000];
        TestImages.MultibootHeader(0x3).CopyTo(image, 0x10);
        Assert.Contains("no ELF magic", LoadFails(image).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SegmentRunningPastTheEndOfTheFileIsRejected()
    {
        byte[] kernel = ThreeSegmentKernel();
        byte[] truncated = kernel.AsSpan(0, kernel.Length - 0x1000).ToArray(); // drops segment 2's data
        BootImageException e = LoadFails(truncated);
        Assert.StartsWith("kernel.elf: program header 2: p_offset+p_filesz runs past end of file (0x4000 + 0x80 > 0x4000)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ProgramHeaderTableRunningPastTheEndIsRejected()
    {
        byte[] kernel = ThreeSegmentKernel();
        BitConverter.GetBytes(0x4FF0u).CopyTo(kernel, 28); // e_phoff near the end of the file
        Assert.Contains("e_phoff", LoadFails(kernel).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void OverlappingSegmentsAreRejected()
    {
        byte[] kernel = TestImages.Elf32(0x10_0000,
        [
            new TestImages.Segment(0x10_0000, s_text, 0x3000),
            new TestImages.Segment(0x10_2000, s_rodata, 0x300),
        ]);
        BootImageException e = LoadFails(kernel);
        Assert.Equal("program header 1", e.Field);
        Assert.Contains("overlaps program header 0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FileSizeLargerThanMemorySizeIsRejected()
    {
        BootImageException e = LoadFails(TestImages.Elf32(0x10_0000, [new TestImages.Segment(0x10_0000, s_text, 0x100)]));
        Assert.Contains("p_filesz 0x1800 is larger than p_memsz 0x100", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void KernelTooBigForRamIsRejected()
    {
        // bss up to 40 MiB on a 32 MiB guest.
        BootImageException e = LoadFails(TestImages.Elf32(0x10_0000, [new TestImages.Segment(0x10_0000, s_text, 39 * 1024 * 1024)]));
        Assert.Contains("too big for the guest's RAM", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ModuleTooBigForRamIsRejectedWithoutWriting()
    {
        BootImageException e = LoadFails(ThreeSegmentKernel(), modules: [new MultibootModuleSource(new MemoryStream(new byte[40 * 1024 * 1024]), "big.img", "big.img")]);
        Assert.Equal("module 0 (big.img)", e.Field);
    }

    [Fact]
    public void LowLinkedKernelLoadsWithTheInformationBesideIt()
    {
        // The kernel of the issue: 0x8000-0xA84B, over the 9000h QEMU uses for the information structure.
        byte[] text = TestImages.Pattern(0x284C, 11);
        byte[] kernel = TestImages.Elf32(0x8000, [new TestImages.Segment(0x8000, text, 0x284C)]);
        var memory = new SparseGuestMemory();
        MultibootLoadResult result = Load(memory, kernel);

        Assert.Equal(text, memory.ReadBytes(0x8000, text.Length)); // nothing written over the kernel
        ulong mbi = result.InfoAddress.Value;
        Assert.Equal(mbi, result.Entry.Ebx);
        Assert.True(mbi >= 0xA84C, $"info at 0x{mbi:X} overlaps the kernel");
        Assert.True(mbi < E820Map.ConventionalRamEnd, $"info at 0x{mbi:X} should stay in conventional memory, which has room");
        Assert.Equal(0x1u | 0x2 | 0x4 | 0x8 | 0x40 | 0x200, memory.U32(mbi));
        Assert.Equal(639u, memory.U32(mbi + 4));
        Assert.Equal("kernel.elf loglevel=3", memory.CString(memory.U32(mbi + 16)));
        Assert.Equal("Virt", memory.CString(memory.U32(mbi + 64)));
        Assert.Equal((uint)(E820Map.CreatePc(32 * MiB).Count * 24), memory.U32(mbi + 44));
        AssertPlacedOutside(result, 0x8000, 0xA84C);
    }

    [Fact]
    public void LowLinkedKernelGetsItsModulesPageAlignedRightAfterIt()
    {
        byte[] kernel = TestImages.Elf32(0x8000, [new TestImages.Segment(0x8000, TestImages.Pattern(0x284C, 12), 0x284C)]);
        byte[] module = TestImages.Pattern(0x1801, 13);
        var memory = new SparseGuestMemory();
        MultibootLoadResult result = Load(memory, kernel, modules: [new MultibootModuleSource(new MemoryStream(module), "mod.bin", "mod.bin arg")]);

        Assert.Equal(0xB000UL, result.Modules[0]!.Value.Start.Value);
        Assert.Equal(module, memory.ReadBytes(0xB000, module.Length));
        ulong mods = memory.U32(result.InfoAddress.Value + 24);
        Assert.Equal(0xB000u, memory.U32(mods));
        Assert.Equal(0xB000u + 0x1801, memory.U32(mods + 4));
        Assert.Equal("mod.bin arg", memory.CString(memory.U32(mods + 8)));
        AssertPlacedOutside(result, 0x8000, 0xA84C);
    }

    [Theory]
    [InlineData(0x10_0000u)]
    [InlineData(0x100_0000u)]
    public void HighLinkedKernelKeepsTheUsualLowAddresses(uint loadAddress)
    {
        byte[] kernel = TestImages.Elf32(loadAddress, [new TestImages.Segment(loadAddress, s_text, 0x1800)]);
        MultibootLoadResult result = Load(new SparseGuestMemory(), kernel);
        Assert.Equal(0x9000UL, result.InfoAddress.Value);
        Assert.Equal(0x500u, result.Entry.GdtBase);
        Assert.Equal(0x7000u, result.Entry.Esp);
    }

    [Fact]
    public void KernelFillingConventionalMemoryMovesTheInformationAboveOneMib()
    {
        // 0x1000-0x9FBFF is kernel: the GDT still fits at 500h, but the stack and the information go above 1 MiB.
        byte[] kernel = TestImages.Elf32(0x1000, [new TestImages.Segment(0x1000, s_text, 0x9_EC00)]);
        var memory = new SparseGuestMemory();
        MultibootLoadResult result = Load(memory, kernel);
        Assert.Equal(0x500u, result.Entry.GdtBase);
        Assert.InRange(result.InfoAddress.Value, E820Map.ExtendedMemoryStart, (32 * MiB) - 1);
        Assert.InRange(result.Entry.Esp, (uint)E820Map.ExtendedMemoryStart + 0x1000, (uint)(32 * MiB));
        Assert.Equal("kernel.elf loglevel=3", memory.CString(memory.U32(result.InfoAddress.Value + 16)));
        AssertPlacedOutside(result, 0x1000, 0x9_FC00);
    }

    [Fact]
    public void KernelLeavingNoRoomForAStackGetsEspZero()
    {
        // A 2 MiB guest whose kernel leaves only 500h-FFFh: the GDT and the information fit there, a 4 KiB stack does not.
        byte[] kernel = TestImages.Elf32(0x10_0000,
        [
            new TestImages.Segment(0x1000, s_rodata, 0x9_EC00),
            new TestImages.Segment(0x10_0000, s_text, 0x10_0000),
        ]);
        MultibootLoadResult result = Load(new SparseGuestMemory(), kernel, ramBytes: 2 * MiB, commandLine: "k");
        Assert.Equal(0u, result.Entry.Esp);
        Assert.DoesNotContain(result.Regions, r => r.Name == "boot stack");
        Assert.InRange(result.InfoAddress.Value, 0x500UL, 0xFFFUL);
    }

    [Fact]
    public void KernelThatFillsRamLeavesNoRoomForTheInformationAndSaysSo()
    {
        // 2 MiB guest: the e820 RAM is 0-9FBFFh and 1 MiB-2 MiB; the kernel takes all of it but the IVT and BIOS data area.
        byte[] kernel = TestImages.Elf32(0x10_0000,
        [
            new TestImages.Segment(0x500, s_rodata, 0x9_F700),
            new TestImages.Segment(0x10_0000, s_text, 0x10_0000),
        ]);
        BootImageException e = LoadFails(kernel, ramBytes: 2 * MiB);
        Assert.Equal("multiboot info structure", e.Field);
        Assert.Equal(
            "kernel.elf: multiboot info structure: does not fit: it needs 128 bytes (0x80) aligned to 0x8, and no free range of the guest's RAM below 4 GiB is that large: "
            + "the e820 map has 0x19FC00 bytes (1663 KiB) of RAM, and the kernel, the modules, the boot structures placed so far and the firmware areas "
            + "(real-mode IVT and BIOS data area, EBDA, VGA window and BIOS ROMs) take the rest",
            e.Message);
    }

    [Fact]
    public void CommandLineTooLongForTheRoomLeftIsNamed()
    {
        // Only 500h-FFFh is free (2816 bytes): a 4000-byte command line cannot fit there.
        byte[] kernel = TestImages.Elf32(0x10_0000,
        [
            new TestImages.Segment(0x1000, s_rodata, 0x9_EC00),
            new TestImages.Segment(0x10_0000, s_text, 0x10_0000),
        ]);
        var memory = new SparseGuestMemory();
        var options = new MultibootOptions { MemoryMap = E820Map.CreatePc(2 * MiB), CommandLine = new string('x', 4000) };
        BootImageException e = Assert.Throws<BootImageException>(() => MultibootLoader.Load(memory, new MemoryStream(kernel), "kernel.elf", options));
        Assert.Equal("multiboot command line", e.Field);
        Assert.Contains("needs 4001 bytes", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, memory.WriteCount);
    }

    [Fact]
    public void AddressFieldsKernelLinkedLowLoadsToo()
    {
        // The a.out-kludge form of the low kernel: the whole file (header at offset 0) at 0x8000, bss to 0xA84C.
        byte[] image = TestImages.Pattern(0x1000, 14);
        TestImages.MultibootHeader(0x1_0003, headerAddr: 0x8000, loadAddr: 0x8000, loadEndAddr: 0x9000, bssEndAddr: 0xA84C, entryAddr: 0x8020).CopyTo(image, 0);
        var memory = new SparseGuestMemory();
        MultibootLoadResult result = Load(memory, image);
        Assert.Equal(MultibootKernelFormat.AddressFields, result.Format);
        Assert.Equal(image, memory.ReadBytes(0x8000, image.Length));
        AssertPlacedOutside(result, 0x8000, 0xA84C);
    }

    /// <summary>Every region the loader chose (not the kernel's) lies outside [start, end) and the firmware areas, in RAM.</summary>
    private static void AssertPlacedOutside(MultibootLoadResult result, ulong kernelStart, ulong kernelEnd)
    {
        foreach (BootRegion region in result.Regions.Where(r => r.Name != "kernel" && !r.Name.StartsWith("program header", StringComparison.Ordinal)))
        {
            ulong first = region.Range.Start.Value;
            ulong last = region.Range.LastAddress.Value;
            Assert.True(last < kernelStart || first >= kernelEnd, $"{region} overlaps the kernel");
            Assert.True(first >= 0x500, $"{region} is in the IVT or BIOS data area");
            Assert.True(last < E820Map.ConventionalRamEnd || first >= E820Map.ExtendedMemoryStart, $"{region} is between the EBDA and 1 MiB");
        }
    }

    [Fact]
    public void AddressFieldsPastTheEndOfTheFileAreRejected()
    {
        byte[] image = new byte[0x800];
        TestImages.MultibootHeader(0x1_0000, headerAddr: 0x10_0000, loadAddr: 0x10_0000, loadEndAddr: 0x10_1000, bssEndAddr: 0, entryAddr: 0x10_0000).CopyTo(image, 0);
        BootImageException e = LoadFails(image);
        Assert.Equal("load_end_addr", e.Field);
        Assert.Contains("truncated", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddressFieldsWithLoadAddressAboveHeaderAddressAreRejected()
    {
        byte[] image = new byte[0x800];
        TestImages.MultibootHeader(0x1_0000, headerAddr: 0x10_0000, loadAddr: 0x10_1000, loadEndAddr: 0, bssEndAddr: 0, entryAddr: 0x10_0000).CopyTo(image, 0);
        Assert.Equal("load_addr", LoadFails(image).Field);
    }

    [Fact]
    public void BssEndBelowLoadEndIsRejected()
    {
        byte[] image = new byte[0x2000];
        TestImages.MultibootHeader(0x1_0000, headerAddr: 0x10_0000, loadAddr: 0x10_0000, loadEndAddr: 0x10_1000, bssEndAddr: 0x10_0800, entryAddr: 0x10_0000).CopyTo(image, 0);
        Assert.Equal("bss_end_addr", LoadFails(image).Field);
    }

    [Fact]
    public void TruncatedElfHeaderIsRejected()
    {
        byte[] image = new byte[48];
        image[0] = 0x7F;
        image[1] = (byte)'E';
        image[2] = (byte)'L';
        image[3] = (byte)'F';
        TestImages.MultibootHeader(0x3).CopyTo(image, 16);
        BootImageException e = LoadFails(image);
        Assert.Equal("kernel.elf: ELF header: the file is 48 bytes, shorter than the 52-byte ELF32 header: truncated", e.Message);
    }

    [Fact]
    public void KernelFromANonSeekableStreamLoads()
    {
        var memory = new SparseGuestMemory();
        var options = new MultibootOptions { MemoryMap = E820Map.CreatePc(32 * MiB) };
        MultibootLoadResult result = MultibootLoader.Load(memory, new NonSeekableStream(ThreeSegmentKernel()), "kernel.elf", options);
        Assert.Equal(0x10_0010u, result.Entry.Eip);
        Assert.Equal(s_text, memory.ReadBytes(0x10_0000, s_text.Length));
    }

    private sealed class NonSeekableStream(byte[] bytes) : MemoryStream(bytes)
    {
        public override bool CanSeek => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    }
}
