using System.Buffers.Binary;
using System.Text;
using Virt.Memory;

namespace Virt.Machine.Boot;

/// <summary>
/// Loads a Multiboot (version 0.6.96) kernel as QEMU's <c>-kernel</c> does: an ELF32 executable from
/// its PT_LOAD program headers (at their physical addresses, bss zeroed), or any image through the
/// header's address fields when flag bit 16 is set (the "a.out kludge"); then the modules, page-aligned
/// after the kernel; then the information structure with the memory map, the command line, the module
/// list and the boot loader name "Virt", and the boot GDT and stack. The kernel may load anywhere in RAM;
/// everything the loader adds goes where the kernel left room (at 9000h, as in QEMU, when that is free),
/// outside the firmware areas, below 4 GiB. See docs/boot.md, "Multiboot placement". Entry (Multiboot specification, 3.2 "Machine state"):
/// 32-bit flat protected mode, EAX = 2BADB002h, EBX = the information structure, paging and interrupts off.
/// </summary>
public static class MultibootLoader
{
    /// <summary>The boot loader name passed to the kernel.</summary>
    public const string BootLoaderName = "Virt";

    /// <summary>Info flag: <c>mem_lower</c> and <c>mem_upper</c> are valid.</summary>
    public const uint InfoFlagMemory = 1u << 0;

    /// <summary>Info flag: <c>cmdline</c> is valid.</summary>
    public const uint InfoFlagCommandLine = 1u << 2;

    /// <summary>Info flag bit 1: <c>boot_device</c> is valid.</summary>
    public const uint InfoFlagBootDevice = 1u << 1;

    /// <summary>
    /// The <c>boot_device</c> value passed: BIOS drive 80h (the first hard disk), no partition (FFh in part2 and part3,
    /// part1 0). QEMU passes the same value, so kernels see identical info structures.
    /// </summary>
    public const uint BootDevice = 0x8000_FFFF;

    /// <summary>Info flag: <c>mods_count</c> and <c>mods_addr</c> are valid.</summary>
    public const uint InfoFlagModules = 1u << 3;

    /// <summary>Info flag: <c>mmap_length</c> and <c>mmap_addr</c> are valid.</summary>
    public const uint InfoFlagMemoryMap = 1u << 6;

    /// <summary>Info flag: <c>boot_loader_name</c> is valid.</summary>
    public const uint InfoFlagBootLoaderName = 1u << 9;

    /// <summary>The size reserved for the information structure itself (its fields end at 116 bytes with the framebuffer fields).</summary>
    public const int InfoStructureSizeInBytes = 128;

    private const ulong PageSize = 0x1000;

    /// <summary>The end of the real-mode interrupt vector table (0-3FFh) and BIOS data area (400h-4FFh).</summary>
    private const ulong RealModeDataEnd = 0x500;

    /// <summary>The alignment of the information structure, memory map and module list (their largest fields are 8 bytes).</summary>
    private const ulong InfoAlignment = 8;

    /// <summary>GDT entries are 8 bytes; Intel SDM Vol. 3A, 3.5.1 recommends an 8-byte aligned base.</summary>
    private const ulong GdtAlignment = 8;

    /// <summary>The stack is 16-byte aligned, as the System V i386 ABI expects at a call.</summary>
    private const ulong StackAlignment = 16;
    private const int MmapEntrySize = 24; // size field (4) + base_addr (8) + length (8) + type (4)
    private const int ModuleEntrySize = 16;
    private const uint PtLoad = 1;

    /// <summary>Validates the kernel, modules and options, then writes everything into guest memory.</summary>
    /// <param name="memory">Guest memory.</param>
    /// <param name="kernel">The kernel image (read from its start when seekable).</param>
    /// <param name="kernelName">The kernel's file name for messages.</param>
    /// <param name="options">The memory map, command line and modules.</param>
    /// <returns>The entry state and where everything went.</returns>
    /// <exception cref="BootImageException">
    /// When the header is missing or broken, required flags cannot be honoured, the ELF or address fields
    /// are inconsistent or cut off, segments overlap or leave RAM, or a module or piece of the boot information
    /// finds no free RAM below 4 GiB (the message names it, its size and the RAM); guest memory is then untouched.
    /// </exception>
    public static MultibootLoadResult Load(IGuestMemory memory, Stream kernel, string kernelName, MultibootOptions options)
    {
        ArgumentNullException.ThrowIfNull(memory);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Modules, nameof(options));
        ArgumentNullException.ThrowIfNull(options.CommandLine, nameof(options));
        E820Entry[] map = E820Map.Validate(options.MemoryMap, nameof(options));
        byte[] image = BootImageReader.ReadAll(kernel, kernelName, nameof(kernel));
        MultibootHeader header = MultibootHeader.Find(image, kernelName);
        CheckRequiredFlags(header, kernelName);

        var plan = new GuestMemoryPlan();
        MultibootKernelFormat format;
        uint entryPoint;
        ulong kernelEnd;
        if (header.HasAddressFields)
        {
            format = MultibootKernelFormat.AddressFields;
            (entryPoint, kernelEnd) = PlanAddressFields(image, header, kernelName, plan);
        }
        else
        {
            format = MultibootKernelFormat.Elf32;
            (entryPoint, kernelEnd) = PlanElf(image, kernelName, plan);
        }

        CheckEntryPointIsLoaded(entryPoint, format, plan, kernelName);

        // The kernel's own layout errors (outside RAM, overlapping segments) come first, named as such.
        plan.Validate(map, kernelName);

        // Everything else goes where the kernel left room: modules page-aligned (header flag 0 asks for it; we always
        // do, as QEMU and GRUB do), one after the other from the end of the kernel; then the information structure and
        // what it points to, from 9000h if free; then the boot GDT and the stack.
        var modules = new List<(byte[] Bytes, ulong Start, MultibootModuleSource Source)>();
        ulong next = AlignUp(kernelEnd);
        for (int i = 0; i < options.Modules.Count; i++)
        {
            MultibootModuleSource source = options.Modules[i] ?? throw new ArgumentException($"Module {i} is null.", nameof(options));
            byte[] bytes = BootImageReader.ReadAll(source.Content, source.Name, nameof(options));
            string name = $"module {i} ({source.Name})";
            ulong start = Place(plan, map, name, (ulong)bytes.Length, PageSize, next, kernelName);
            modules.Add((bytes, start, source));
            plan.Write(name, start, bytes);
            next = AlignUp(start + (ulong)bytes.Length);
        }

        uint infoAddress = PlanInfo(plan, map, options.CommandLine, modules.Select(m => (m.Start, (ulong)m.Bytes.Length, m.Source.CommandLine)).ToList(), kernelName);
        byte[] gdt = BootGdt.ToBytes();
        uint gdtAddress = Place(plan, map, "boot GDT", (ulong)gdt.Length, GdtAlignment, BootMemoryLayout.GdtAddress, kernelName);
        plan.Write("boot GDT", gdtAddress, gdt);

        // Multiboot 3.2: "ESP: the OS image must create its own stack as soon as it needs one." The loader offers one
        // where there is room, and hands over ESP = 0 when the kernel and its data leave none.
        ulong? stackBase = plan.FindFree(map, BootMemoryLayout.StackSizeInBytes, StackAlignment, BootMemoryLayout.StackTop - BootMemoryLayout.StackSizeInBytes, E820Map.FourGigabytes, FirmwareAreas);
        if (stackBase is not null)
        {
            plan.Reserve("boot stack", stackBase.Value, BootMemoryLayout.StackSizeInBytes);
        }

        plan.Validate(map, kernelName);
        plan.Apply(memory);

        string kind = format == MultibootKernelFormat.Elf32 ? "ELF32" : "address-fields (a.out kludge)";
        BootEntryState entry = BootEntryState.FlatProtectedMode(
            entryPoint,
            $"Multiboot {kind} kernel {kernelName} at entry 0x{entryPoint:X8}, {modules.Count} module(s), info at 0x{infoAddress:X8}",
            gdtAddress)
            with
            {
                Eax = MultibootHeader.BootloaderMagic,
                Ebx = infoAddress,
                Esp = stackBase is null ? 0 : (uint)(stackBase.Value + BootMemoryLayout.StackSizeInBytes),
            };
        return new MultibootLoadResult
        {
            Entry = entry,
            Header = header,
            Format = format,
            InfoAddress = new PhysicalAddress(infoAddress),
            Modules = [.. modules.Select(m => m.Bytes.Length == 0 ? (AddressRange?)null : AddressRange.FromStartAndSize(new PhysicalAddress(m.Start), (ulong)m.Bytes.Length))],
            Regions = plan.Regions,
        };
    }

    /// <summary>
    /// Areas the loader never places its own data in, though an e820 map may call them RAM: the real-mode interrupt
    /// vector table and BIOS data area (0-4FFh), which a kernel that returns to real mode or calls the BIOS still needs,
    /// and everything from the EBDA (9FC00h) to 1 MiB (EBDA, VGA window, option and system ROMs). Kernel segments
    /// are not held to this: a kernel may load where it likes in RAM.
    /// </summary>
    private static IReadOnlyList<AddressRange> FirmwareAreas =>
    [
        new(new PhysicalAddress(0), new PhysicalAddress(RealModeDataEnd - 1)),
        new(new PhysicalAddress(E820Map.ConventionalRamEnd), new PhysicalAddress(E820Map.ExtendedMemoryStart - 1)),
    ];

    private static void CheckRequiredFlags(MultibootHeader header, string kernelName)
    {
        // Multiboot 3.1.2: bits 0-15 are requirements; a loader that cannot meet one must refuse.
        if ((header.Flags & MultibootHeader.FlagVideoMode) != 0)
        {
            throw new BootImageException(kernelName, "multiboot header flags", $"0x{header.Flags:X8} sets bit 2 (video mode information required), which Virt does not provide: it sets no graphics mode and has no VBE");
        }

        uint unknown = header.Flags & 0xFFF8;
        if (unknown != 0)
        {
            throw new BootImageException(kernelName, "multiboot header flags", $"0x{header.Flags:X8} sets required bits 0x{unknown:X4} that Multiboot 0.6.96 does not define");
        }
    }

    private static (uint Entry, ulong End) PlanAddressFields(byte[] image, MultibootHeader header, string kernelName, GuestMemoryPlan plan)
    {
        // Multiboot 3.1.3: the file offset of load_addr is the header's offset minus (header_addr - load_addr).
        if (header.LoadAddress > header.HeaderAddress)
        {
            throw new BootImageException(kernelName, "load_addr", $"0x{header.LoadAddress:X8} is above header_addr 0x{header.HeaderAddress:X8}");
        }

        ulong headerDistance = header.HeaderAddress - header.LoadAddress;
        if (headerDistance > (ulong)header.Offset)
        {
            throw new BootImageException(kernelName, "header_addr", $"header_addr 0x{header.HeaderAddress:X8} - load_addr 0x{header.LoadAddress:X8} = 0x{headerDistance:X} is more than the header's file offset 0x{header.Offset:X}");
        }

        ulong loadOffset = (ulong)header.Offset - headerDistance;
        ulong loadSize;
        if (header.LoadEndAddress == 0)
        {
            loadSize = (ulong)image.Length - loadOffset;
        }
        else
        {
            if (header.LoadEndAddress <= header.LoadAddress)
            {
                throw new BootImageException(kernelName, "load_end_addr", $"0x{header.LoadEndAddress:X8} is not above load_addr 0x{header.LoadAddress:X8}");
            }

            loadSize = header.LoadEndAddress - header.LoadAddress;
            if (loadOffset + loadSize > (ulong)image.Length)
            {
                throw new BootImageException(kernelName, "load_end_addr", $"0x{header.LoadEndAddress:X8} asks for 0x{loadSize:X} bytes from file offset 0x{loadOffset:X}, past the end of the file (0x{image.Length:X} bytes): truncated");
            }
        }

        ulong loadEnd = header.LoadAddress + loadSize;
        ulong end = loadEnd;
        if (header.BssEndAddress != 0)
        {
            if (header.BssEndAddress < loadEnd)
            {
                throw new BootImageException(kernelName, "bss_end_addr", $"0x{header.BssEndAddress:X8} is below the end of the loaded data 0x{loadEnd:X8}");
            }

            end = header.BssEndAddress;
        }

        if (end > uint.MaxValue + 1UL)
        {
            throw new BootImageException(kernelName, "load_end_addr", $"the kernel image at 0x{header.LoadAddress:X8} of 0x{end - header.LoadAddress:X} bytes runs past 4 GiB");
        }

        plan.Write("kernel", header.LoadAddress, image.AsMemory((int)loadOffset, (int)loadSize), end - header.LoadAddress);
        return (header.EntryAddress, end);
    }

    private static (uint Entry, ulong End) PlanElf(byte[] image, string kernelName, GuestMemoryPlan plan)
    {
        // ELF32 (System V ABI, "ELF Header" and "Program Header"); little-endian i386 executables only.
        ReadOnlySpan<byte> f = image;
        if (f.Length < 4 || f[0] != 0x7F || f[1] != (byte)'E' || f[2] != (byte)'L' || f[3] != (byte)'F')
        {
            throw new BootImageException(kernelName, "e_ident", "no ELF magic (7F 'E' 'L' 'F') at offset 0 and the multiboot header does not set flag bit 16 (address fields): the loader cannot tell where the kernel goes");
        }

        if (f.Length < 52)
        {
            throw new BootImageException(kernelName, "ELF header", $"the file is {f.Length} bytes, shorter than the 52-byte ELF32 header: truncated");
        }

        if (f[4] == 2)
        {
            throw new BootImageException(kernelName, "e_ident[EI_CLASS]", "ELFCLASS64: a Multiboot v1 kernel must be a 32-bit ELF (as in QEMU, which rejects 64-bit images)");
        }

        if (f[4] != 1)
        {
            throw new BootImageException(kernelName, "e_ident[EI_CLASS]", $"{f[4]} is not ELFCLASS32 (1)");
        }

        if (f[5] != 1)
        {
            throw new BootImageException(kernelName, "e_ident[EI_DATA]", $"{f[5]} is not ELFDATA2LSB (1): the kernel must be little-endian");
        }

        ushort machine = BinaryPrimitives.ReadUInt16LittleEndian(f[18..]);
        if (machine != 3)
        {
            throw new BootImageException(kernelName, "e_machine", $"{machine} is not EM_386 (3)");
        }

        uint entry = BinaryPrimitives.ReadUInt32LittleEndian(f[24..]);
        uint phoff = BinaryPrimitives.ReadUInt32LittleEndian(f[28..]);
        ushort phentsize = BinaryPrimitives.ReadUInt16LittleEndian(f[42..]);
        ushort phnum = BinaryPrimitives.ReadUInt16LittleEndian(f[44..]);
        if (phnum == 0)
        {
            throw new BootImageException(kernelName, "e_phnum", "the ELF file has no program headers");
        }

        if (phentsize < 32)
        {
            throw new BootImageException(kernelName, "e_phentsize", $"{phentsize} is smaller than an ELF32 program header (32 bytes)");
        }

        if ((ulong)phoff + ((ulong)phnum * phentsize) > (ulong)f.Length)
        {
            throw new BootImageException(kernelName, "e_phoff", $"the program header table (0x{phoff:X} + {phnum} × {phentsize} bytes) runs past end of file (0x{f.Length:X} bytes): truncated");
        }

        ulong end = 0;
        uint? physicalEntry = null;
        int loaded = 0;
        for (int i = 0; i < phnum; i++)
        {
            ReadOnlySpan<byte> ph = f.Slice((int)phoff + (i * phentsize), 32);
            if (BinaryPrimitives.ReadUInt32LittleEndian(ph) != PtLoad)
            {
                continue;
            }

            uint offset = BinaryPrimitives.ReadUInt32LittleEndian(ph[4..]);
            uint vaddr = BinaryPrimitives.ReadUInt32LittleEndian(ph[8..]);
            uint paddr = BinaryPrimitives.ReadUInt32LittleEndian(ph[12..]);
            uint fileSize = BinaryPrimitives.ReadUInt32LittleEndian(ph[16..]);
            uint memorySize = BinaryPrimitives.ReadUInt32LittleEndian(ph[20..]);
            string name = $"program header {i}";
            if (fileSize > memorySize)
            {
                throw new BootImageException(kernelName, name, $"p_filesz 0x{fileSize:X} is larger than p_memsz 0x{memorySize:X}");
            }

            if ((ulong)offset + fileSize > (ulong)f.Length)
            {
                throw new BootImageException(kernelName, name, $"p_offset+p_filesz runs past end of file (0x{offset:X} + 0x{fileSize:X} > 0x{f.Length:X}): truncated");
            }

            if (memorySize == 0)
            {
                continue;
            }

            if ((ulong)paddr + memorySize > uint.MaxValue + 1UL)
            {
                throw new BootImageException(kernelName, name, $"p_paddr 0x{paddr:X8} + p_memsz 0x{memorySize:X} runs past 4 GiB");
            }

            // The kernel runs with paging off, so it is loaded at p_paddr; an entry point given as a
            // virtual address inside a segment is translated the same way (as GRUB and QEMU do).
            if (physicalEntry is null && entry >= vaddr && entry - vaddr < memorySize)
            {
                physicalEntry = entry - vaddr + paddr;
            }

            plan.Write(name, paddr, image.AsMemory((int)offset, (int)fileSize), memorySize);
            end = Math.Max(end, (ulong)paddr + memorySize);
            loaded++;
        }

        if (loaded == 0)
        {
            throw new BootImageException(kernelName, "program headers", "the ELF file has no PT_LOAD segment with a non-zero p_memsz");
        }

        return (physicalEntry ?? entry, end);
    }

    /// <summary>
    /// Places the information structure and what it points to (Multiboot 3.3 "Boot information format"), each piece
    /// where <see cref="Place"/> finds room, preferring <see cref="BootMemoryLayout.MultibootInfoAddress"/> and
    /// one piece after the other, and plans their bytes.
    /// </summary>
    /// <returns>The address of the information structure.</returns>
    private static uint PlanInfo(GuestMemoryPlan plan, E820Entry[] map, string commandLine, List<(ulong Start, ulong Size, string CommandLine)> modules, string kernelName)
    {
        // The structure is placed (and planned) first so that it gets the preferred address; its fields are filled in
        // below, once the pieces it points to have their places (the plan keeps the array, not a copy).
        byte[] info = new byte[InfoStructureSizeInBytes];
        uint infoAddress = Place(plan, map, "multiboot info structure", (ulong)info.Length, InfoAlignment, BootMemoryLayout.MultibootInfoAddress, kernelName);
        plan.Write("multiboot info structure", infoAddress, info);
        ulong next = infoAddress + (ulong)info.Length;

        byte[] mmap = new byte[map.Length * MmapEntrySize];
        for (int i = 0; i < map.Length; i++)
        {
            // Each entry starts with its size (20), which does not count itself; mmap_addr points at it.
            Span<byte> e = mmap.AsSpan(i * MmapEntrySize, MmapEntrySize);
            BinaryPrimitives.WriteUInt32LittleEndian(e, MmapEntrySize - 4);
            BinaryPrimitives.WriteUInt64LittleEndian(e[4..], map[i].Start.Value);
            BinaryPrimitives.WriteUInt64LittleEndian(e[12..], map[i].SizeInBytes);
            BinaryPrimitives.WriteUInt32LittleEndian(e[20..], (uint)map[i].Type);
        }

        uint mmapAddress = PlanBytes(plan, map, "multiboot memory map", mmap, InfoAlignment, ref next, kernelName);
        uint commandLineAddress = PlanBytes(plan, map, "multiboot command line", CString(commandLine), 1, ref next, kernelName);
        uint loaderNameAddress = PlanBytes(plan, map, "multiboot boot loader name", CString(BootLoaderName), 1, ref next, kernelName);
        uint modulesAddress = 0;
        if (modules.Count > 0)
        {
            byte[] list = new byte[modules.Count * ModuleEntrySize];
            for (int i = 0; i < modules.Count; i++)
            {
                // mod_end is exclusive (one past the last byte), as GRUB and QEMU set it.
                Span<byte> m = list.AsSpan(i * ModuleEntrySize, ModuleEntrySize);
                BinaryPrimitives.WriteUInt32LittleEndian(m, (uint)modules[i].Start);
                BinaryPrimitives.WriteUInt32LittleEndian(m[4..], (uint)(modules[i].Start + modules[i].Size));
                BinaryPrimitives.WriteUInt32LittleEndian(m[8..], PlanBytes(plan, map, $"multiboot module {i} command line", CString(modules[i].CommandLine ?? string.Empty), 1, ref next, kernelName));
            }

            modulesAddress = PlanBytes(plan, map, "multiboot module list", list, InfoAlignment, ref next, kernelName);
        }

        E820Entry? low = E820Map.FindRam(map, new PhysicalAddress(0));
        E820Entry? upper = E820Map.FindRam(map, new PhysicalAddress(E820Map.ExtendedMemoryStart));
        uint memLowerKiB = low is { } l ? (uint)(Math.Min(l.SizeInBytes, E820Map.ConventionalMemoryEnd) / 1024) : 0;
        ulong upperBytes = upper is { } u ? Math.Min(u.LastAddress.Value + 1, E820Map.FourGigabytes) - E820Map.ExtendedMemoryStart : 0;
        uint memUpperKiB = (uint)(upperBytes / 1024);

        Span<byte> b = info;
        BinaryPrimitives.WriteUInt32LittleEndian(b[0..], InfoFlagMemory | InfoFlagBootDevice | InfoFlagCommandLine | InfoFlagModules | InfoFlagMemoryMap | InfoFlagBootLoaderName);
        BinaryPrimitives.WriteUInt32LittleEndian(b[4..], memLowerKiB);
        BinaryPrimitives.WriteUInt32LittleEndian(b[8..], memUpperKiB);
        BinaryPrimitives.WriteUInt32LittleEndian(b[12..], BootDevice);
        BinaryPrimitives.WriteUInt32LittleEndian(b[16..], commandLineAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(b[20..], (uint)modules.Count);
        BinaryPrimitives.WriteUInt32LittleEndian(b[24..], modulesAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(b[44..], (uint)mmap.Length);
        BinaryPrimitives.WriteUInt32LittleEndian(b[48..], mmapAddress);
        BinaryPrimitives.WriteUInt32LittleEndian(b[64..], loaderNameAddress);
        return infoAddress;
    }

    /// <summary>Places <paramref name="bytes"/> at or after <paramref name="next"/> (see <see cref="Place"/>), plans them, and moves <paramref name="next"/> past them.</summary>
    private static uint PlanBytes(GuestMemoryPlan plan, E820Entry[] map, string name, byte[] bytes, ulong alignment, ref ulong next, string kernelName)
    {
        uint address = Place(plan, map, name, (ulong)bytes.Length, alignment, next, kernelName);
        plan.Write(name, address, bytes);
        next = address + (ulong)bytes.Length;
        return address;
    }

    /// <summary>
    /// Finds room for something the loader chooses the place of (a module, a piece of the boot information, the boot
    /// GDT) in RAM below 4 GiB (the information structure holds 32-bit addresses), clear of everything planned so far
    /// and of <see cref="FirmwareAreas"/>; see <see cref="GuestMemoryPlan.FindFree"/> for the order of preference.
    /// </summary>
    /// <exception cref="BootImageException">When nothing fits; the message names the piece, its size and the RAM.</exception>
    private static uint Place(GuestMemoryPlan plan, E820Entry[] map, string name, ulong sizeInBytes, ulong alignment, ulong hint, string kernelName)
    {
        ulong? address = plan.FindFree(map, Math.Max(sizeInBytes, 1), alignment, hint, E820Map.FourGigabytes, FirmwareAreas);
        if (address is null)
        {
            ulong ram = map.Where(e => e.Type == E820EntryType.Ram).Aggregate(0UL, (sum, e) => sum + e.SizeInBytes);
            throw new BootImageException(
                kernelName,
                name,
                $"does not fit: it needs {sizeInBytes} bytes (0x{sizeInBytes:X}){(alignment > 1 ? $" aligned to 0x{alignment:X}" : string.Empty)}, and no free range of the guest's RAM below 4 GiB is that large: "
                + $"the e820 map has 0x{ram:X} bytes ({ram / 1024} KiB) of RAM, and the kernel, the modules, the boot structures placed so far and the firmware areas (real-mode IVT and BIOS data area, EBDA, VGA window and BIOS ROMs) take the rest");
        }

        return (uint)address.Value;
    }

    private static byte[] CString(string text)
    {
        byte[] bytes = new byte[Encoding.UTF8.GetByteCount(text) + 1];
        Encoding.UTF8.GetBytes(text, bytes);
        return bytes;
    }

    /// <summary>
    /// The kernel is entered at its entry point with paging off (Multiboot 3.2), so the address must lie in what the
    /// loader placed: one of the ELF PT_LOAD segments (e_entry, translated from a virtual address as above), or the
    /// load_addr..bss_end_addr image of the address fields (entry_addr). Anywhere else the CPU would run whatever the
    /// RAM holds.
    /// </summary>
    private static void CheckEntryPointIsLoaded(uint entryPoint, MultibootKernelFormat format, GuestMemoryPlan plan, string kernelName)
    {
        var entry = new PhysicalAddress(entryPoint);
        bool loaded = plan.Regions.Any(r => (r.Name == "kernel" || r.Name.StartsWith("program header ", StringComparison.Ordinal)) && r.Range.Contains(entry));
        if (!loaded)
        {
            string field = format == MultibootKernelFormat.Elf32 ? "e_entry" : "entry_addr";
            string segments = string.Join(", ", plan.Regions.Where(r => r.Name == "kernel" || r.Name.StartsWith("program header ", StringComparison.Ordinal)).Select(r => r.ToString()));
            throw new BootImageException(kernelName, field, $"the entry point 0x{entryPoint:X8} lies outside every loaded segment ({segments})");
        }
    }

    private static ulong AlignUp(ulong value) => (value + PageSize - 1) & ~(PageSize - 1);
}
