using System.Buffers.Binary;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Tests.Acceptance.CpuDifferential;

/// <summary>
/// Builds a Multiboot v1 (a.out kludge) test kernel that runs its checks in 64-bit mode. Multiboot enters in 32-bit
/// protected mode, so a fixed 32-bit stub loads the kernel's GDT, enables PAE, points CR3 at 4-level tables that identity
/// map the first GiB with user-accessible 2 MiB pages, sets EFER.LME and CR0.PG (Intel SDM Vol. 3A, 10.8.5) and far-jumps
/// into the 64-bit code segment. The 64-bit part mirrors <see cref="DiffKernel"/>: its own IDT (16-byte gates) and 64-bit
/// TSS, a catch-all handler that prints the pushed frame to the debug console (port E9h) and resumes at the point armed
/// by <see cref="Try"/>, and printing helpers. The body is assembled until its label addresses settle, so it may use the
/// absolute addresses of its own labels (<see cref="Addr"/>).
/// </summary>
internal sealed class DiffKernel64 : DiffKernelImage
{
    private const int StubOffset = 0x40;
    public const uint Entry64 = 0x101000;

    // Physical memory map (all inside the loaded image).
    public const uint Pml4 = 0x120000;
    public const uint Pdpt0 = 0x121000;      // PML4[0]: 0-512 GiB
    public const uint Pd0 = 0x122000;        // PDPT0[0]: 0-1 GiB, 2 MiB pages, identity, user, writable
    public const uint PageArea = 0x123000;   // 29 free page-aligned pages for tables the body builds (to 0x13FFFF)
    public const uint Gdt = 0x140000;
    public const uint Idt = 0x141000;
    public const uint Vars = 0x142000;
    public const uint ResumeRip = Vars;
    public const uint ResumeRsp = Vars + 8;
    public const uint ExceptionCount = Vars + 0x10;
    public const uint GdtPointer = Vars + 0x20;
    public const uint IdtPointer = Vars + 0x30;
    public const uint Scratch = Vars + 0x100; // free for tests: 0x142100-0x142FFF
    public const uint Tss = 0x143000;         // the 64-bit TSS (Intel SDM Vol. 3A, 9.7)
    public const uint Blob = 0x160000;        // raw bytes (32-bit code for compatibility mode) the body places
    public const uint IstStack2Top = 0x164000;
    public const uint IstStack1Top = 0x166000;
    public const uint Ring3StackTop = 0x16C000;
    public const uint Stack0Top = 0x170000;   // RSP0 and the kernel's own stack
    private const uint ImageEnd = 0x170000;

    public const ushort Code0 = 0x08;         // 64-bit, DPL 0
    public const ushort Data0 = 0x10;
    public const ushort Code3Compat = 0x1B;   // 32-bit, DPL 3: SYSRET's compatibility-mode CS (STAR[63:48])
    public const ushort Data3 = 0x23;         // SYSRET's SS (STAR[63:48] + 8)
    public const ushort Code3 = 0x2B;         // 64-bit, DPL 3: SYSRET's 64-bit CS (STAR[63:48] + 16)
    public const ushort TssSelector = 0x30;   // 16-byte descriptor
    public const ushort Code0Compat = 0x40;   // 32-bit, DPL 0

    /// <summary>Vectors 0-31 plus the software-interrupt vectors 40h-4Fh (DPL 3) get a printing stub.</summary>
    public const int SoftVectorBase = 0x40;

    private const ulong PresentWritableUser = 0x07;
    private const ulong LargePage = 0x80;
    private const uint EferMsr = 0xC0000080;
    private const uint EferLme = 1u << 8;
    private const uint Cr4Pae = 1u << 5;
    private const uint Cr0PgPe = 0x80000001;

    private readonly Dictionary<int, ulong[]> idtOverrides = [];
    private int tryCounter;
    private Label printQ;
    private Label printD;

    private DiffKernel64(Dictionary<string, uint> previous)
        : base(previous, 64, ImageEnd)
    {
        Poke64(Pml4, Pdpt0 | PresentWritableUser);
        Poke64(Pdpt0, Pd0 | PresentWritableUser);
        for (uint i = 0; i < 512; i++)
        {
            Poke64(Pd0 + (i * 8), ((ulong)i << 21) | LargePage | PresentWritableUser);
        }

        // 64-bit TSS: RSP0 and two IST stacks; the I/O map base beyond the limit (no bitmap: ring 3 prints through IOPL 3).
        Poke64(Tss + 0x04, Stack0Top);
        Poke64(Tss + 0x24, IstStack1Top);
        Poke64(Tss + 0x2C, IstStack2Top);
        Poke16(Tss + 0x66, 0x68);
    }

    /// <summary>Builds a kernel: <paramref name="body"/> emits the checks; the kernel prints "END" and exits with 10h.</summary>
    public static byte[] Build(Action<DiffKernel64> body) => Build(previous => new DiffKernel64(previous), body, Entry64, Pml4);

    /// <summary>Assembles 32-bit code (for compatibility mode) at <paramref name="address"/> and places it in the image.</summary>
    public void Code32(uint address, Action<Assembler> emit)
    {
        var a32 = new Assembler(32);
        emit(a32);
        using var stream = new MemoryStream();
        a32.Assemble(new StreamCodeWriter(stream), address);
        PokeBytes(address, stream.ToArray());
    }

    public void SetGdt(int index, ulong descriptor) => Poke64(Gdt + (uint)(index * 8), descriptor);

    /// <summary>Replaces the IDT entry of <paramref name="vector"/> with the two quadwords of a 16-byte gate.</summary>
    public void SetIdt(int vector, ulong low, ulong high) => idtOverrides[vector] = [low, high];

    /// <summary>
    /// The two quadwords of a 64-bit interrupt or trap gate (Intel SDM Vol. 3A, 7.14.1, Figure 7-8): type/DPL/P in
    /// <paramref name="access"/>, an IST index 0-7.
    /// </summary>
    public static (ulong Low, ulong High) Gate64(ushort selector, ulong offset, byte access, int ist = 0) =>
        ((offset & 0xFFFF) | ((ulong)selector << 16) | ((ulong)(ist & 7) << 32) | ((ulong)access << 40) | (((offset >> 16) & 0xFFFF) << 48),
         offset >> 32);

    /// <summary>The stub address of a vector that has one (0-31, 40h-4Fh).</summary>
    public uint Stub(int vector) => Addr("stub" + vector);

    /// <summary>Prints a string (RAX and the flags preserved).</summary>
    public override void Str(string s)
    {
        A.pushfq();
        A.push(rax);
        foreach (char c in s)
        {
            A.mov(al, (byte)c);
            A.@out(0xE9, al);
        }

        A.pop(rax);
        A.popfq();
    }

    /// <summary>Prints a 64-bit register as 16 hex digits and a space (all registers and flags preserved).</summary>
    public void P(AssemblerRegister64 r)
    {
        A.push(r);
        A.call(printQ);
    }

    /// <summary>Prints the low half of a register as 8 hex digits and a space (all registers and flags preserved).</summary>
    public void P32(AssemblerRegister64 r)
    {
        A.push(r);
        A.call(printD);
    }

    /// <summary>Prints the quadword at an absolute address as 16 hex digits.</summary>
    public void PM(uint address) => PM(__qword_ptr[address]);

    /// <summary>Prints a quadword memory operand as 16 hex digits.</summary>
    public void PM(AssemblerMemoryOperand m)
    {
        A.push(m);
        A.call(printQ);
    }

    /// <summary>Prints the low dword of a quadword memory operand as 8 hex digits.</summary>
    public void PM32(AssemblerMemoryOperand m)
    {
        A.push(m);
        A.call(printD);
    }

    /// <summary>
    /// Arms the exception handler: an exception from here on prints its frame, returns with IRETQ to ring 0 (CS 08h,
    /// SS 10h, RFLAGS 2) at the saved RSP and continues at the label returned, which the caller places with
    /// <see cref="Mark"/> after the code under test.
    /// </summary>
    public override string Try()
    {
        string name = "resume" + tryCounter++;
        A.mov(__qword_ptr[ResumeRip], (int)Addr(name));
        A.mov(__qword_ptr[ResumeRsp], rsp);
        return name;
    }

    /// <summary>
    /// Like <see cref="Expect"/>, but <paramref name="body"/> runs in 64-bit mode at CPL 3 (entered with IRETQ, IOPL 3 so
    /// it may print, stack at <see cref="Ring3StackTop"/>); it ends with INT 40h back to the handler when nothing faulted.
    /// </summary>
    public void ExpectRing3(string tag, Action body, uint rflags = 0x3002)
    {
        Str(tag + " ");
        string resume = Try();
        string entry = "r3entry" + tryCounter;
        A.push(Data3);
        A.push((int)Ring3StackTop);
        A.push((int)rflags);
        A.push(Code3);
        A.push((int)Addr(entry));
        A.iretq();
        Mark(entry);
        body();
        Str("NF ");
        A.@int(SoftVectorBase);
        Mark(resume);
    }

    /// <summary>Reloads CR3 (flushes the non-global TLB entries).</summary>
    public void FlushTlb()
    {
        A.mov(rax, cr3);
        A.mov(cr3, rax);
    }

    private static byte[] BuildStub()
    {
        // Assembled twice: the first pass finds the address of the compatibility-mode label the first far jump names.
        uint compatAddress = 0;
        for (int pass = 0; ; pass++)
        {
            // 32-bit protected mode as Multiboot leaves it: interrupts off, paging off, some flat CS/DS.
            var s = new Assembler(32);
            Label compat = s.CreateLabel();
            s.cli();
            s.lgdt(__[GdtPointer]);
            s.jmp(Code0Compat, compatAddress);
            s.Label(ref compat);
            s.mov(ax, Data0);
            s.mov(ds, ax);
            s.mov(es, ax);
            s.mov(fs, ax);
            s.mov(gs, ax);
            s.mov(ss, ax);
            s.mov(esp, Stack0Top);
            s.mov(eax, cr0);
            s.and(eax, 0x1FFFFFFF); // CD and NW as left by the loader differ (QEMU's BIOS clears them); paging off
            s.mov(cr0, eax);
            s.mov(eax, Cr4Pae);
            s.mov(cr4, eax);
            s.mov(eax, Pml4);
            s.mov(cr3, eax);
            s.mov(ecx, EferMsr);
            s.rdmsr();
            s.or(eax, EferLme);
            s.wrmsr();
            s.mov(eax, cr0);
            s.or(eax, unchecked((int)Cr0PgPe));
            s.mov(cr0, eax); // IA32_EFER.LMA = 1 (SDM Vol. 3A, 10.8.5); still the 32-bit compatibility segment
            s.jmp(Code0, Entry64);

            using var stream = new MemoryStream();
            AssemblerResult result = s.Assemble(new StreamCodeWriter(stream), Load + StubOffset, BlockEncoderOptions.ReturnNewInstructionOffsets);
            uint target = (uint)result.GetLabelRIP(compat);
            if (target == compatAddress)
            {
                return stream.ToArray();
            }

            if (pass > 2)
            {
                throw new InvalidOperationException("boot stub labels did not settle");
            }

            compatAddress = target;
        }
    }

    protected override void EmitPrologue()
    {
        Assembler a = A;
        a.lidt(__[IdtPointer]);
        a.mov(ax, TssSelector);
        a.ltr(ax);
        a.xor(eax, eax);
        a.lldt(ax);
        a.mov(al, 0xFF); // mask both PICs: no device interrupt reaches the checks
        a.@out(0x21, al);
        a.@out(0xA1, al);
        a.mov(__qword_ptr[ExceptionCount], 0);
        a.push(2);
        a.popfq();
        a.jmp(L("main"));

        // printQ/printD: print [rsp+8] as 16 or 8 (its low half) hex digits and a space, pop it, preserve everything.
        printQ = L("printQ");
        printD = L("printD");
        Label loop = a.CreateLabel();
        Label digit = a.CreateLabel();
        Mark("printQ");
        a.pushfq();
        a.push(rax);
        a.push(rbx);
        a.push(rcx);
        a.mov(ecx, 16);
        a.mov(rbx, __qword_ptr[rsp + 40]);
        a.jmp(loop);
        Mark("printD");
        a.pushfq();
        a.push(rax);
        a.push(rbx);
        a.push(rcx);
        a.mov(ecx, 8);
        a.mov(rbx, __qword_ptr[rsp + 40]);
        a.shl(rbx, 32);
        a.Label(ref loop);
        a.rol(rbx, 4);
        a.mov(al, bl);
        a.and(al, 0xF);
        a.add(al, (byte)'0');
        a.cmp(al, (byte)'9');
        a.jbe(digit);
        a.add(al, 7);
        a.Label(ref digit);
        a.@out(0xE9, al);
        a.dec(ecx);
        a.jnz(loop);
        a.mov(al, (byte)' ');
        a.@out(0xE9, al);
        a.pop(rcx);
        a.pop(rbx);
        a.pop(rax);
        a.popfq();
        a.ret(8);

        for (int v = 0; v < 0x50; v++)
        {
            if (v >= 32 && v < SoftVectorBase)
            {
                continue;
            }

            Mark("stub" + v);
            bool hasError = v is 8 or 10 or 11 or 12 or 13 or 14 or 17 or 21;
            if (!hasError)
            {
                a.push(0);
            }

            a.push(v);
            a.jmp(L("common"));
        }

        // The common handler. Stack: vector, error code, RIP, CS, RFLAGS, RSP, SS (SDM Vol. 3A, 7.14.2: SS:RSP always).
        // Printed: X vector error RIP CS RFLAGS(without RF) RSP SS F <frame address> [CR2 cr2] RAX rax RF0/RF1.
        Mark("common");
        Label notPf = a.CreateLabel();
        Label rf0 = a.CreateLabel();
        Label rfDone = a.CreateLabel();
        Label runaway = a.CreateLabel();
        a.mov(rbp, rsp);
        a.inc(__qword_ptr[ExceptionCount]);
        a.cmp(__qword_ptr[ExceptionCount], 200);
        a.ja(runaway);
        Str("X ");
        PM32(__qword_ptr[rbp]);
        PM32(__qword_ptr[rbp + 8]);
        PM(__qword_ptr[rbp + 16]);
        PM32(__qword_ptr[rbp + 24]);
        a.mov(rbx, __qword_ptr[rbp + 32]);
        a.and(ebx, ~0x10000); // RF is printed separately at the end of the line (see DiffRunner)
        P32(rbx);
        PM(__qword_ptr[rbp + 40]);
        PM32(__qword_ptr[rbp + 48]);
        Str("F ");
        a.lea(rbx, __qword_ptr[rbp + 16]);
        P(rbx);
        a.cmp(__qword_ptr[rbp], 14);
        a.jne(notPf);
        Str("CR2 ");
        a.mov(rbx, cr2);
        P(rbx);
        a.Label(ref notPf);
        Str("RAX ");
        P(rax);
        a.test(__dword_ptr[rbp + 32], 0x10000);
        a.jz(rf0);
        Str("RF1\n");
        a.jmp(rfDone);
        a.Label(ref rf0);
        Str("RF0\n");
        a.Label(ref rfDone);

        // Resume at ring 0 with known flags through IRETQ (RAX survives into the resumed code).
        a.mov(bx, Data0);
        a.mov(ds, bx);
        a.mov(es, bx);
        a.push(Data0);
        a.push(__qword_ptr[ResumeRsp]);
        a.push(2);
        a.push(Code0);
        a.push(__qword_ptr[ResumeRip]);
        a.iretq();
        a.Label(ref runaway);
        Str("RUNAWAY\n");
        a.mov(dx, 0x501);
        a.mov(al, 0x11);
        a.@out(dx, al);
        a.cli();
        a.hlt();

        Mark("main");
    }

    protected override void FinishImage()
    {
        Span<byte> h = Image;
        const uint flags = 0x0001_0003;
        BinaryPrimitives.WriteUInt32LittleEndian(h, 0x1BADB002);
        BinaryPrimitives.WriteUInt32LittleEndian(h[4..], flags);
        BinaryPrimitives.WriteUInt32LittleEndian(h[8..], unchecked(0u - 0x1BADB002u - flags));
        BinaryPrimitives.WriteUInt32LittleEndian(h[12..], Load);
        BinaryPrimitives.WriteUInt32LittleEndian(h[16..], Load);
        BinaryPrimitives.WriteUInt32LittleEndian(h[20..], ImageEnd);
        BinaryPrimitives.WriteUInt32LittleEndian(h[24..], ImageEnd);
        BinaryPrimitives.WriteUInt32LittleEndian(h[28..], Load + StubOffset);
        byte[] stub = BuildStub();
        if (StubOffset + stub.Length > Entry64 - Load)
        {
            throw new InvalidOperationException("boot stub too large");
        }

        PokeBytes(Load + StubOffset, stub);

        // Defaults a body may have overwritten are written only where the body left zeros.
        SetDefault(Gdt + Code0, DiffKernel.Seg(0, 0xFFFFF, 0x9A, 0xA));        // L = 1
        SetDefault(Gdt + Data0, DiffKernel.Seg(0, 0xFFFFF, 0x92, 0xC));
        SetDefault(Gdt + (Code3Compat & ~3), DiffKernel.Seg(0, 0xFFFFF, 0xFA, 0xC)); // D = 1
        SetDefault(Gdt + (Data3 & ~3), DiffKernel.Seg(0, 0xFFFFF, 0xF2, 0xC));
        SetDefault(Gdt + (Code3 & ~3), DiffKernel.Seg(0, 0xFFFFF, 0xFA, 0xA));
        SetDefault(Gdt + TssSelector, DiffKernel.Seg(Tss, 0x67, 0x89, 0));     // base 63:32 (the next quadword) zero
        SetDefault(Gdt + Code0Compat, DiffKernel.Seg(0, 0xFFFFF, 0x9A, 0xC));
        Poke16(GdtPointer, 0xFFF);
        Poke32(GdtPointer + 2, Gdt);
        Poke16(IdtPointer, 0xFFF);
        Poke64(IdtPointer + 2, Idt);

        for (int v = 0; v < 256; v++)
        {
            (ulong low, ulong high) = idtOverrides.TryGetValue(v, out ulong[]? o) ? (o[0], o[1])
                : TryGetPreviousAddress("stub" + v, out uint stub64) ? Gate64(Code0, stub64, (byte)(v >= SoftVectorBase || v == 3 ? 0xEE : 0x8E))
                : (0UL, 0UL);
            Poke64(Idt + (uint)(v * 16), low);
            Poke64(Idt + (uint)(v * 16) + 8, high);
        }
    }

    private void SetDefault(uint address, ulong value)
    {
        if (BinaryPrimitives.ReadUInt64LittleEndian(Image.AsSpan((int)(address - Load))) == 0)
        {
            Poke64(address, value);
        }
    }
}
