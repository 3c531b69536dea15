using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Benchmarks;

/// <summary>
/// Builds a 64 KiB firmware image around one loop of the tier benchmark, which QEMU (<c>-bios</c>) and Virt
/// (<c>MachineBuilder.WithFirmware</c>, Virt.Run <c>-bios</c>) both boot from the reset vector: it copies the loop
/// (the same instruction bytes GuestPrograms assembles, at the same address) and its data to RAM, sets up the loop's mode
/// the way the tier benchmark's bare CPUs start (segments, paging tables at <see cref="GuestPrograms.PageDirectory"/>,
/// long mode), runs the loop for the iteration count built in, and then writes a digest of the general registers to
/// QEMU's isa-debug-exit port (<see cref="DebugExitPort"/>, 4 bytes wide), which ends both emulators with status
/// <c>(digest &lt;&lt; 1) | 1</c>.
/// </summary>
/// <remarks>
/// The loop's final HLT (one byte, F4h) is replaced by a near RET (one byte, C3h): the image leaves the address of its exit
/// code on top of the stack the loop finds (the mixed loops load that same stack pointer themselves and leave it
/// balanced), so the loop returns into the exit code instead of halting. The loop's code is otherwise byte for byte the
/// tier benchmark's, and it retires the same number of instructions.
/// </remarks>
public static class QemuGuestImage
{
    /// <summary>The image's size: the smallest QEMU's <c>-bios</c> takes (a multiple of 64 KiB).</summary>
    public const int SizeInBytes = 0x10000;

    /// <summary>The isa-debug-exit port the image writes: <c>-device isa-debug-exit,iobase=0xf4,iosize=0x04</c>.</summary>
    public const byte DebugExitPort = 0xF4;

    /// <summary>The width of the isa-debug-exit port (QEMU's <c>iosize</c>): the image writes a doubleword.</summary>
    public const int DebugExitSizeInPorts = 4;

    /// <summary>Where the exit code lives in RAM (the loop's RET lands here).</summary>
    public const uint ExitCodeAddress = 0x0F00;

    /// <summary>The digest keeps 7 bits so that <c>(digest &lt;&lt; 1) | 1</c> fits a process exit status.</summary>
    public const uint DigestMask = 0x7F;

    /// <summary>The real-mode stack top (SS = 0) where the exit address waits for the loop's RET; the mixed loop's own SP.</summary>
    private const ushort RealModeStackTop = 0x8000;

    /// <summary>The 32- and 64-bit stack top where the exit address waits; the mixed loops' own ESP/RSP.</summary>
    private const uint ProtectedStackTop = 0x60000;

    /// <summary>The firmware's own real-mode stack during setup.</summary>
    private const ushort SetupStackTop = 0x7000;

    /// <summary>The GDT in RAM (null, 32-bit code, data, 64-bit code), with its pseudo-descriptor at <see cref="GdtrAddress"/>.</summary>
    private const uint GdtAddress = 0x0600;

    private const uint GdtrAddress = 0x0640;

    /// <summary>The 32-bit setup code (segments, paging, the step to long mode) in RAM.</summary>
    private const uint Protected32SetupAddress = 0x0A00;

    /// <summary>The 64-bit setup code in RAM.</summary>
    private const uint Long64SetupAddress = 0x0C00;

    private const ushort Code32Selector = 0x08;
    private const ushort DataSelector = 0x10;
    private const ushort Code64Selector = 0x18;

    /// <summary>Flat 4 GiB descriptors (Intel SDM Vol. 3A, 3.4.5): 32-bit code (D=1, G=1), data, 64-bit code (L=1, D=0).</summary>
    private const ulong Code32Descriptor = 0x00CF_9B00_0000_FFFF;
    private const ulong DataDescriptor = 0x00CF_9300_0000_FFFF;
    private const ulong Code64Descriptor = 0x00AF_9B00_0000_FFFF;

    private const uint Cr0ProtectionEnable = 1u << 0;
    private const uint Cr0Paging = 1u << 31;
    private const uint Cr4PhysicalAddressExtension = 1u << 5;
    private const uint EferMsr = 0xC000_0080;
    private const uint EferLongModeEnable = 1u << 8;

    /// <summary>A page-table entry's present and writable bits.</summary>
    private const uint PresentWritable = 3;

    /// <summary>Pages identity-mapped: the first MiB, as the tier benchmark's machines.</summary>
    private const uint MappedPages = 256;

    /// <summary>Where in the image the blobs copied to RAM start (the real-mode setup code comes first, below it).</summary>
    private const int BlobsOffset = 0x1000;

    /// <summary>The reset vector's offset in a 64 KiB image (F000:FFF0, the top 16 bytes below 4 GiB).</summary>
    private const int ResetVectorOffset = 0xFFF0;

    /// <summary>The real-mode segment the image is seen at after the first far jump (F0000h, QEMU's and Virt's BIOS alias).</summary>
    private const ushort BiosSegment = 0xF000;

    /// <summary>The opcodes swapped at the loop's end: HLT for near RET.</summary>
    private const byte HaltOpcode = 0xF4;
    private const byte NearReturnOpcode = 0xC3;

    /// <summary>Builds the image for <paramref name="loop"/> running <paramref name="iterations"/> iterations.</summary>
    /// <param name="loop">The loop.</param>
    /// <param name="iterations">Loop iterations (at least 1).</param>
    /// <returns>The 64 KiB image.</returns>
    public static byte[] Build(QemuGuestLoop loop, uint iterations)
    {
        ArgumentNullException.ThrowIfNull(loop);
        ArgumentOutOfRangeException.ThrowIfZero(iterations);
        int bitness = Bitness(loop.Mode);
        var blobs = new List<(uint Address, byte[] Bytes)>
        {
            (GuestPrograms.CodeOffset, ReturnInsteadOfHalt(loop.Code(iterations), bitness)),
            (ExitCodeAddress, ExitCode(bitness)),
        };
        blobs.AddRange(loop.Data);
        if (loop.Mode != QemuGuestMode.Real)
        {
            blobs.Add((GdtAddress, GlobalDescriptorTable()));
            blobs.Add((Protected32SetupAddress, Protected32Setup(loop.Mode)));
        }

        if (loop.Mode == QemuGuestMode.ProtectedPaged)
        {
            blobs.Add((GuestPrograms.PageDirectory, BitConverter.GetBytes(GuestPrograms.PageDirectory + 0x1000 | PresentWritable)));
            blobs.Add((GuestPrograms.PageDirectory + 0x1000, PageTable(entrySize: 4)));
        }
        else if (loop.Mode == QemuGuestMode.Long)
        {
            blobs.Add((Long64SetupAddress, Long64Setup()));
            for (uint level = 0; level < 3; level++)
            {
                // PML4, PDPT and page directory: one entry each, pointing at the next table 4 KiB further.
                uint table = GuestPrograms.PageDirectory + (level * 0x1000);
                blobs.Add((table, BitConverter.GetBytes((ulong)(table + 0x1000) | PresentWritable)));
            }

            blobs.Add((GuestPrograms.PageDirectory + 0x3000, PageTable(entrySize: 8)));
        }

        var image = new byte[SizeInBytes];
        var placed = new List<(uint Address, int Offset, int Length)>();
        int offset = BlobsOffset;
        foreach ((uint address, byte[] bytes) in blobs)
        {
            if (offset + bytes.Length > ResetVectorOffset || bytes.Length > ushort.MaxValue || address + (uint)bytes.Length > 0x10_0000)
            {
                throw new InvalidOperationException($"{loop.Name}: the blob for {address:X}h ({bytes.Length} bytes) does not fit the image or the first MiB.");
            }

            bytes.CopyTo(image, offset);
            placed.Add((address, offset, bytes.Length));
            offset = (offset + bytes.Length + 15) & ~15;
        }

        byte[] setup = RealModeSetup(loop.Mode, placed);
        if (setup.Length > BlobsOffset)
        {
            throw new InvalidOperationException($"{loop.Name}: the real-mode setup ({setup.Length} bytes) overlaps the blobs at {BlobsOffset:X}h.");
        }

        setup.CopyTo(image, 0);
        var reset = new Assembler(16);
        reset.jmp(BiosSegment, 0u);
        Assemble(reset, ResetVectorOffset).CopyTo(image, ResetVectorOffset);
        return image;
    }

    /// <summary>
    /// The digest the image's exit code writes to the port, computed the same way from register values: the XOR of RAX,
    /// RBX, RCX, RDX, RSI, RDI and RBP, folded to 32, then 16, then 8 bits, and masked with <see cref="DigestMask"/>
    /// (in real and protected mode only the low 32 bits of each register take part).
    /// </summary>
    /// <param name="registers">The registers' values in the order RAX, RBX, RCX, RDX, RSI, RDI, RBP.</param>
    /// <param name="mode">The mode the exit code runs in.</param>
    /// <returns>The digest.</returns>
    public static uint Digest(IReadOnlyList<ulong> registers, QemuGuestMode mode)
    {
        ArgumentNullException.ThrowIfNull(registers);
        ulong x = 0;
        foreach (ulong value in registers)
        {
            x ^= mode == QemuGuestMode.Long ? value : (uint)value;
        }

        uint folded = (uint)x ^ (uint)(x >> 32);
        folded ^= folded >> 16;
        return (folded ^ (folded >> 8)) & DigestMask;
    }

    /// <summary>The operand size of code in <paramref name="mode"/>.</summary>
    /// <param name="mode">The mode.</param>
    /// <returns>16, 32 or 64.</returns>
    public static int Bitness(QemuGuestMode mode) => mode switch
    {
        QemuGuestMode.Real => 16,
        QemuGuestMode.Long => 64,
        _ => 32,
    };

    /// <summary>Replaces the loop's one HLT by a near RET of the same length, after checking there is exactly one.</summary>
    private static byte[] ReturnInsteadOfHalt(byte[] code, int bitness)
    {
        var decoder = Decoder.Create(bitness, new ByteArrayCodeReader(code), GuestPrograms.CodeOffset);
        int haltOffset = -1;
        while (decoder.IP < GuestPrograms.CodeOffset + (ulong)code.Length)
        {
            Instruction instruction = decoder.Decode();
            if (instruction.Mnemonic == Mnemonic.Hlt)
            {
                if (haltOffset >= 0)
                {
                    throw new InvalidOperationException("The loop has more than one HLT; the image expects one, at the loop's end.");
                }

                haltOffset = (int)(instruction.IP - GuestPrograms.CodeOffset);
            }
        }

        if (haltOffset < 0 || code[haltOffset] != HaltOpcode)
        {
            throw new InvalidOperationException("The loop has no one-byte HLT to replace.");
        }

        byte[] patched = (byte[])code.Clone();
        patched[haltOffset] = NearReturnOpcode;
        return patched;
    }

    /// <summary>The exit code: the register digest (see <see cref="Digest"/>) written to the debug-exit port, then halt for good.</summary>
    private static byte[] ExitCode(int bitness)
    {
        var a = new Assembler(bitness);
        if (bitness == 64)
        {
            a.xor(rax, rbx);
            a.xor(rax, rcx);
            a.xor(rax, rdx);
            a.xor(rax, rsi);
            a.xor(rax, rdi);
            a.xor(rax, rbp);
            a.mov(rdx, rax);
            a.shr(rdx, 32);
            a.xor(eax, edx);
        }
        else
        {
            a.xor(eax, ebx);
            a.xor(eax, ecx);
            a.xor(eax, edx);
            a.xor(eax, esi);
            a.xor(eax, edi);
            a.xor(eax, ebp);
        }

        a.mov(edx, eax);
        a.shr(edx, 16);
        a.xor(eax, edx);
        a.xor(al, ah);
        a.and(eax, DigestMask);
        a.@out(DebugExitPort, eax);
        a.cli();
        Label halt = a.CreateLabel();
        a.Label(ref halt);
        a.hlt();
        a.jmp(halt);
        return Assemble(a, ExitCodeAddress);
    }

    /// <summary>
    /// The real-mode setup at F000:0000: copies every blob to RAM, then starts the loop in real mode, or loads the GDT, sets
    /// CR0.PE and jumps to the 32-bit setup.
    /// </summary>
    private static byte[] RealModeSetup(QemuGuestMode mode, List<(uint Address, int Offset, int Length)> blobs)
    {
        var a = new Assembler(16);
        a.cli();
        a.cld();
        a.xor(ax, ax);
        a.mov(ss, ax);
        a.mov(sp, SetupStackTop);
        a.push(cs);
        a.pop(ds);
        foreach ((uint address, int offset, int length) in blobs)
        {
            a.mov(ax, (ushort)(address >> 4));
            a.mov(es, ax);
            a.mov(di, (ushort)(address & 0xF));
            a.mov(si, (ushort)offset);
            a.mov(cx, (ushort)length);
            a.rep.movsb();
        }

        a.xor(ax, ax);
        a.mov(ds, ax);
        a.mov(es, ax);
        if (mode == QemuGuestMode.Real)
        {
            a.mov(sp, RealModeStackTop);
            a.mov(__word_ptr[RealModeStackTop], (ushort)ExitCodeAddress);
            ClearRegisters(a);
            a.jmp((ushort)0, (uint)GuestPrograms.CodeOffset);
        }
        else
        {
            a.lgdt(__[GdtrAddress]);
            a.mov(eax, cr0);
            a.or(eax, Cr0ProtectionEnable);
            a.mov(cr0, eax);
            a.jmp(Code32Selector, Protected32SetupAddress);
        }

        return Assemble(a, 0);
    }

    /// <summary>
    /// The 32-bit setup: flat data segments; then either paging (when asked), the stack with the exit address and the jump
    /// to the loop, or PAE, the 4-level tables, EFER.LME and paging, and the far jump to the 64-bit setup.
    /// </summary>
    private static byte[] Protected32Setup(QemuGuestMode mode)
    {
        var a = new Assembler(32);
        a.mov(ax, DataSelector);
        a.mov(ds, ax);
        a.mov(es, ax);
        a.mov(fs, ax);
        a.mov(gs, ax);
        a.mov(ss, ax);
        if (mode == QemuGuestMode.Long)
        {
            // Intel SDM Vol. 3A, 10.8.5: PAE on, CR3 at the PML4, EFER.LME set, then CR0.PG activates IA-32e mode.
            a.mov(eax, cr4);
            a.or(eax, Cr4PhysicalAddressExtension);
            a.mov(cr4, eax);
            a.mov(eax, GuestPrograms.PageDirectory);
            a.mov(cr3, eax);
            a.mov(ecx, EferMsr);
            a.rdmsr();
            a.or(eax, EferLongModeEnable);
            a.wrmsr();
            a.mov(eax, cr0);
            a.or(eax, Cr0Paging);
            a.mov(cr0, eax);
            a.jmp(Code64Selector, Long64SetupAddress);
            return Assemble(a, Protected32SetupAddress);
        }

        if (mode == QemuGuestMode.ProtectedPaged)
        {
            a.mov(eax, GuestPrograms.PageDirectory);
            a.mov(cr3, eax);
            a.mov(eax, cr0);
            a.or(eax, Cr0Paging);
            a.mov(cr0, eax);
        }

        a.mov(esp, ProtectedStackTop);
        a.mov(__dword_ptr[ProtectedStackTop], ExitCodeAddress);
        ClearRegisters(a);
        a.jmp((ulong)GuestPrograms.CodeOffset);
        return Assemble(a, Protected32SetupAddress);
    }

    /// <summary>The 64-bit setup: data segments, the stack with the exit address, the jump to the loop.</summary>
    private static byte[] Long64Setup()
    {
        var a = new Assembler(64);
        a.mov(ax, DataSelector);
        a.mov(ds, ax);
        a.mov(es, ax);
        a.mov(ss, ax);
        a.mov(esp, ProtectedStackTop);
        a.mov(__qword_ptr[ProtectedStackTop], (int)ExitCodeAddress);
        ClearRegisters(a);
        a.jmp((ulong)GuestPrograms.CodeOffset);
        return Assemble(a, Long64SetupAddress);
    }

    /// <summary>Zeroes the registers the loops and the digest read (ESP excepted), so that both emulators start the loop alike.</summary>
    /// <remarks>In 64-bit mode a 32-bit XOR zeroes the whole register (Intel SDM Vol. 1, 3.4.1.1).</remarks>
    private static void ClearRegisters(Assembler a)
    {
        a.xor(eax, eax);
        a.xor(ebx, ebx);
        a.xor(ecx, ecx);
        a.xor(edx, edx);
        a.xor(esi, esi);
        a.xor(edi, edi);
        a.xor(ebp, ebp);
    }

    /// <summary>The GDT and, at <see cref="GdtrAddress"/>, its pseudo-descriptor (limit, base).</summary>
    private static byte[] GlobalDescriptorTable()
    {
        var bytes = new byte[GdtrAddress - GdtAddress + 6];
        ulong[] descriptors = [0, Code32Descriptor, DataDescriptor, Code64Descriptor];
        for (int i = 0; i < descriptors.Length; i++)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan(i * 8), descriptors[i]);
        }

        BitConverter.TryWriteBytes(bytes.AsSpan((int)(GdtrAddress - GdtAddress)), (ushort)((descriptors.Length * 8) - 1));
        BitConverter.TryWriteBytes(bytes.AsSpan((int)(GdtrAddress - GdtAddress) + 2), GdtAddress);
        return bytes;
    }

    /// <summary>A page table identity-mapping the first MiB with 4 KiB pages, entries of 4 (32-bit) or 8 bytes (64-bit).</summary>
    private static byte[] PageTable(int entrySize)
    {
        var bytes = new byte[MappedPages * entrySize];
        for (uint page = 0; page < MappedPages; page++)
        {
            BitConverter.TryWriteBytes(bytes.AsSpan((int)page * entrySize), (page << 12) | PresentWritable);
        }

        return bytes;
    }

    private static byte[] Assemble(Assembler a, ulong address)
    {
        using var stream = new MemoryStream();
        a.Assemble(new StreamCodeWriter(stream), address);
        return stream.ToArray();
    }
}
