using System.Buffers.Binary;
using Iced.Intel;
using static Iced.Intel.AssemblerRegisters;

namespace Virt.Run.Tests.Acceptance.CpuDifferential;

/// <summary>
/// Builds a Multiboot v1 (a.out kludge) test kernel for the differential suite: flat 32-bit protected mode with its own
/// GDT, IDT and TSS, a catch-all exception handler that prints the pushed frame to the debug console (port E9h) and
/// resumes at the point armed by <see cref="Try"/>, and small printing helpers. The test body is assembled twice so that
/// code can use the absolute addresses of its own labels (<see cref="Addr"/>) as immediates and in descriptor tables.
/// </summary>
internal sealed class DiffKernel : DiffKernelImage
{
    private const int CodeOffset = 0x40;

    // Physical memory map (all inside the loaded image, so both loaders place the initial table contents).
    public const uint PageArea = 0x120000;   // 32 page-aligned pages for page tables the body builds
    public const uint Gdt = 0x140000;
    public const uint Idt = 0x141000;
    public const uint Vars = 0x142000;
    public const uint ResumeEip = Vars;
    public const uint ResumeEsp = Vars + 4;
    public const uint ExceptionCount = Vars + 8;
    public const uint GdtPointer = Vars + 0x10;
    public const uint IdtPointer = Vars + 0x18;
    public const uint DataSelectorWord = Vars + 0x20;
    public const uint Scratch = Vars + 0x100; // free for tests: 0x142100-0x142FFF
    public const uint TssA = 0x144000;
    public const uint TssB = 0x145000;
    public const uint TssC = 0x146000;
    public const uint Tss0 = 0x150000;        // the main task's TSS, with redirection and I/O bitmaps
    public const uint Tss0IoMap = 0x88;       // I/O bitmap offset; the interrupt redirection bitmap is the 32 bytes below
    public const uint Blob = 0x160000;        // raw bytes (e.g. 16-bit code) the kernel copies where it needs them
    public const uint Ring3StackTop = 0x16C000;
    public const uint TaskStackTop = 0x168000;
    public const uint Stack0Top = 0x170000;
    private const uint ImageEnd = 0x170000;

    public const ushort Code0 = 0x08;
    public const ushort Data0 = 0x10;
    public const ushort Code3 = 0x1B;
    public const ushort Data3 = 0x23;
    public const ushort Tss0Selector = 0x28;

    /// <summary>Vectors 0-31 plus the software-interrupt vectors 40h-4Fh (DPL 3) get a printing stub.</summary>
    public const int SoftVectorBase = 0x40;

    private readonly Dictionary<int, ulong> idtOverrides = [];
    private int tryCounter;
    private Label printStack;

    private DiffKernel(Dictionary<string, uint> previous)
        : base(previous, 32, ImageEnd)
    {

        // Main TSS: ring-0 stack, interrupt redirection bitmap all ones (every INT n goes to the monitor), I/O bitmap all
        // ones (every port denied to v86/CPL>IOPL) except the debug console, plus the terminating byte. Bodies may change it.
        Poke32(Tss0 + 0x04, Stack0Top);
        Poke32(Tss0 + 0x08, Data0);
        Poke32(Tss0 + 0x64, Tss0IoMap << 16);
        for (uint i = Tss0IoMap - 32; i < Tss0IoMap + 0x2001; i++)
        {
            Poke8(Tss0 + i, 0xFF);
        }

        Poke8(Tss0 + Tss0IoMap + (0xE9 / 8), (byte)(0xFF & ~(1 << (0xE9 % 8))));
    }

    /// <summary>Builds a kernel: <paramref name="body"/> emits the checks; the kernel prints "END" and exits with 10h.</summary>
    public static byte[] Build(Action<DiffKernel> body) => Build(previous => new DiffKernel(previous), body, Load + (uint)CodeOffset, PageArea);

    public void SetGdt(int index, ulong descriptor) => Poke64(Gdt + (uint)(index * 8), descriptor);

    public void SetIdt(int vector, ulong descriptor) => idtOverrides[vector] = descriptor;

    /// <summary>A code or data segment descriptor (Intel SDM Vol. 3A, 3.4.5).</summary>
    public static ulong Seg(uint segBase, uint limit, byte access, byte flags) =>
        (limit & 0xFFFF) | ((ulong)(segBase & 0xFFFFFF) << 16) | ((ulong)access << 40) | ((ulong)((limit >> 16) & 0xF) << 48)
        | ((ulong)(flags & 0xF) << 52) | ((ulong)(segBase >> 24) << 56);

    /// <summary>A gate descriptor (Intel SDM Vol. 3A, 5.8.3 and 6.11); <paramref name="parameters"/> for call gates.</summary>
    public static ulong Gate(ushort selector, uint offset, byte access, int parameters = 0) =>
        (offset & 0xFFFF) | ((ulong)selector << 16) | ((ulong)(parameters & 0x1F) << 32) | ((ulong)access << 40) | ((ulong)(offset >> 16) << 48);

    /// <summary>A 32-bit TSS descriptor (available, DPL 0) at <paramref name="tss"/>.</summary>
    public static ulong TssDescriptor(uint tss, uint limit = 0x67) => Seg(tss, limit, 0x89, 0);

    /// <summary>Writes a 32-bit TSS (Intel SDM Vol. 3A, 8.2.1) for a flat ring-0 task starting at <paramref name="eip"/>.</summary>
    public void WriteTss(uint tss, uint eip, uint esp, uint eflags = 0x2, uint cr3 = 0, ushort cs = Code0, ushort ds = Data0)
    {
        Poke32(tss + 0x04, Stack0Top - 0x800);
        Poke32(tss + 0x08, Data0);
        Poke32(tss + 0x1C, cr3);
        Poke32(tss + 0x20, eip);
        Poke32(tss + 0x24, eflags);
        Poke32(tss + 0x38, esp);
        Poke32(tss + 0x48, ds);
        Poke32(tss + 0x4C, cs);
        Poke32(tss + 0x50, ds);
        Poke32(tss + 0x54, ds);
        Poke32(tss + 0x58, ds);
        Poke32(tss + 0x5C, ds);
        Poke32(tss + 0x64, 0x0068_0000); // I/O map base beyond the limit: no bitmap
    }

    /// <summary>Prints a string (EAX preserved).</summary>
    public override void Str(string s)
    {
        A.push(eax);
        foreach (char c in s)
        {
            A.mov(al, (byte)c);
            A.@out(0xE9, al);
        }

        A.pop(eax);
    }

    /// <summary>Prints a register as eight hex digits and a space (all registers preserved).</summary>
    public void P(AssemblerRegister32 r)
    {
        A.push(r);
        A.call(printStack);
    }

    /// <summary>Prints the dword at an absolute address (all registers preserved).</summary>
    public void PM(uint address)
    {
        A.push(__dword_ptr[address]);
        A.call(printStack);
    }

    /// <summary>Prints a dword memory operand (all registers preserved).</summary>
    public void PM(AssemblerMemoryOperand m)
    {
        A.push(m);
        A.call(printStack);
    }

    /// <summary>Prints an immediate (a label address, for instance).</summary>
    public void PI(uint value)
    {
        A.push(value);
        A.call(printStack);
    }

    /// <summary>
    /// Arms the exception handler: an exception from here on prints its frame, reloads ESP and continues at the label
    /// returned, which the caller places with <see cref="Mark"/> after the code under test. Code that runs through
    /// without an exception should print something itself.
    /// </summary>
    public override string Try()
    {
        string name = "resume" + tryCounter++;
        A.mov(__dword_ptr[ResumeEip], Addr(name));
        A.mov(__dword_ptr[ResumeEsp], esp);
        return name;
    }

    /// <summary>
    /// Like <see cref="Expect"/>, but <paramref name="body"/> runs at CPL 3 (flat ring-3 segments, IOPL 3 so it may print,
    /// stack at <see cref="Ring3StackTop"/>); it ends with INT 40h back to the handler when nothing faulted.
    /// </summary>
    public void ExpectRing3(string tag, Action body, uint eflags = 0x3002)
    {
        Str(tag + " ");
        string resume = Try();
        string entry = "r3entry" + tryCounter;
        A.push(Data3);
        A.push(Ring3StackTop);
        A.push(eflags);
        A.push(Code3);
        A.push(Addr(entry));
        A.iretd();
        Mark(entry);
        A.mov(ax, Data3);
        A.mov(ds, ax);
        A.mov(es, ax);
        body();
        Str("NF ");
        A.@int(SoftVectorBase);
        Mark(resume);
    }

    /// <summary>Points a linear address's page-table entry (or any dword) at a new value and flushes the TLB.</summary>
    public void FlushTlb()
    {
        A.mov(eax, cr3);
        A.mov(cr3, eax);
    }

    protected override void EmitPrologue()
    {
        Assembler a = A;
        a.mov(esp, Stack0Top);
        a.push(2);
        a.popfd();
        a.mov(eax, cr0);
        a.and(eax, 0x1FFFFFFF); // CD and NW as left by the loader differ (QEMU's BIOS clears them); paging off
        a.mov(cr0, eax);
        a.lgdt(__[GdtPointer]);
        a.lidt(__[IdtPointer]);
        a.push(Code0);
        a.push(Addr("reloadCs"));
        a.retf();
        Mark("reloadCs");
        a.mov(ax, Data0);
        a.mov(ds, ax);
        a.mov(es, ax);
        a.mov(fs, ax);
        a.mov(gs, ax);
        a.mov(ss, ax);
        a.mov(ax, Tss0Selector);
        a.ltr(ax);
        a.xor(eax, eax);
        a.lldt(ax); // a null LDTR: the loader's (QEMU's BIOS leaves its reset value, base 0 limit FFFFh) is not used
        a.mov(al, 0xFF); // mask both PICs: no device interrupt reaches the checks
        a.@out(0x21, al);
        a.@out(0xA1, al);
        a.xor(eax, eax);
        a.mov(__dword_ptr[ExceptionCount], eax);
        a.jmp(L("main"));

        // printStack: prints [esp+4] in hex and a space, pops it, preserves every register and the flags.
        printStack = L("printStack");
        Mark("printStack");
        Label loop = a.CreateLabel();
        Label digit = a.CreateLabel();
        a.pushfd();
        a.pushad();
        a.mov(ebx, __dword_ptr[esp + 40]);
        a.mov(ecx, 8);
        a.Label(ref loop);
        a.rol(ebx, 4);
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
        a.popad();
        a.popfd();
        a.ret(4);

        for (int v = 0; v < 0x50; v++)
        {
            if (v >= 32 && v < SoftVectorBase)
            {
                continue;
            }

            Mark("stub" + v);
            bool hasError = v is 8 or 10 or 11 or 12 or 13 or 14 or 17;
            if (!hasError)
            {
                a.push(0);
            }

            a.push(v);
            a.jmp(L("common"));
        }

        // The common handler. Stack: vector, error code, EIP, CS, EFLAGS [, ESP, SS [, ES, DS, FS, GS]].
        Mark("common");
        Label frameDone = a.CreateLabel();
        Label v86Frame = a.CreateLabel();
        Label notPf = a.CreateLabel();
        Label notDb = a.CreateLabel();
        Label runaway = a.CreateLabel();
        a.push(eax);
        a.mov(ax, Data0);
        a.mov(ds, ax);
        a.mov(es, ax);
        a.mov(fs, ax);
        a.mov(gs, ax);
        a.pop(eax);
        a.mov(ebp, esp);
        a.inc(__dword_ptr[ExceptionCount]);
        a.cmp(__dword_ptr[ExceptionCount], 200);
        a.ja(runaway);
        Str("X ");
        PM(__dword_ptr[ebp]);
        PM(__dword_ptr[ebp + 4]);
        PM(__dword_ptr[ebp + 8]);
        PM(__dword_ptr[ebp + 12]);
        a.mov(ebx, __dword_ptr[ebp + 16]);
        a.and(ebx, ~0x10000); // RF is printed separately at the end of the line (see DiffRunner)
        P(ebx);
        a.test(__dword_ptr[ebp + 16], 0x20000);
        a.jnz(v86Frame); // VM: print the full v86 frame
        a.test(__dword_ptr[ebp + 12], 3);
        a.jz(frameDone);
        Str("SS:ESP ");
        PM(__dword_ptr[ebp + 20]);
        PM(__dword_ptr[ebp + 24]);
        a.jmp(frameDone);
        a.Label(ref v86Frame);
        Str("V86 ");
        for (int i = 20; i <= 40; i += 4)
        {
            PM(__dword_ptr[ebp + i]);
        }

        a.Label(ref frameDone);
        a.cmp(__dword_ptr[ebp], 14);
        a.jne(notPf);
        Str("CR2 ");
        a.mov(ebx, cr2);
        P(ebx);
        a.Label(ref notPf);
        a.cmp(__dword_ptr[ebp], 1);
        a.jne(notDb);
        Str("DR6 ");
        a.mov(ebx, dr6);
        P(ebx);
        a.xor(ebx, ebx);
        a.mov(dr6, ebx);
        a.Label(ref notDb);
        Label rf0 = a.CreateLabel();
        Label rfDone = a.CreateLabel();
        Str("EAX ");
        P(eax);
        a.test(__dword_ptr[ebp + 16], 0x10000);
        a.jz(rf0);
        Str("RF1\n");
        a.jmp(rfDone);
        a.Label(ref rf0);
        Str("RF0\n");
        a.Label(ref rfDone);
        a.mov(ss, __word_ptr[DataSelectorWord]); // EAX survives into the resumed code
        a.mov(esp, __dword_ptr[ResumeEsp]);
        a.push(2); // resume with known flags
        a.popfd();
        a.jmp(__dword_ptr[ResumeEip]);
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
        BinaryPrimitives.WriteUInt32LittleEndian(h[28..], Load + CodeOffset);

        // Defaults a body may have overwritten are written only where the body left zeros.
        SetDefault(Gdt + 0x08, Seg(0, 0xFFFFF, 0x9A, 0xC));
        SetDefault(Gdt + 0x10, Seg(0, 0xFFFFF, 0x92, 0xC));
        SetDefault(Gdt + 0x18, Seg(0, 0xFFFFF, 0xFA, 0xC));
        SetDefault(Gdt + 0x20, Seg(0, 0xFFFFF, 0xF2, 0xC));
        SetDefault(Gdt + 0x28, TssDescriptor(Tss0, Tss0IoMap + 0x2000));
        Poke16(DataSelectorWord, Data0);
        Poke16(GdtPointer, 0xFFF);
        Poke32(GdtPointer + 2, Gdt);
        Poke16(IdtPointer, 0x7FF);
        Poke32(IdtPointer + 2, Idt);

        for (int v = 0; v < 256; v++)
        {
            ulong gate = idtOverrides.TryGetValue(v, out ulong o) ? o
                : TryGetPreviousAddress("stub" + v, out uint stub) ? Gate(Code0, stub, (byte)(v >= SoftVectorBase || v == 3 ? 0xEE : 0x8E))
                : 0;
            Poke64(Idt + (uint)(v * 8), gate);
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
