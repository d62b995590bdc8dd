"""The vocabulary and the people of the benchmark corpus (``bench/corpus.py``): Portuguese
and English words, names, sections, agencies, markup the sanitiser must remove, and the
pools of 50 authors, 200 categories and 1,000 tags with Zipf-like popularity."""

from __future__ import annotations

import itertools
import random
import unicodedata
from dataclasses import dataclass

SEED = 4


def _words(text: str) -> list[str]:
    return text.split()


PT_WORDS = _words(
    """
prefeitura governo cidade estado projeto obra bairro moradores secretaria câmara vereadores
deputados senado orçamento saúde educação escola hospital transporte ônibus metrô ciclovia
chuva enchente seca safra colheita mercado inflação juros empresa trabalhadores sindicato
greve salário emprego renda imposto reforma votação eleição candidato partido campanha
pesquisa universidade professores alunos cientistas estudo dados relatório investigação
polícia justiça tribunal ministro presidente acordo contrato licitação empresa concessão
energia água saneamento esgoto rua avenida praça parque estádio clube time campeonato jogo
torcida técnico jogador festival música cinema teatro exposição museu livro autor artista
público população cidadãos especialistas analistas economistas médicos enfermeiros vacina
doença epidemia clima temperatura floresta rio mar praia turismo hotel restaurante comércio
loja indústria fábrica produção exportação importação porto aeroporto estrada rodovia ponte
semana mês ano manhã tarde noite segunda terça quarta quinta sexta sábado domingo nesta
nova novo grande pequena maior menor primeira último principal público privado municipal
estadual federal nacional regional local internacional histórico recente importante
aprovou anunciou apresentou afirmou disse explicou informou confirmou negou criticou
defendeu prometeu começou terminou aumentou caiu subiu cresceu investiu gastou recebeu
segundo conforme entre sobre durante depois antes ainda também já muito mais menos cerca
"""
)
PT_GLUE = _words("de da do das dos em na no para com por e que a o os as um uma ao à")

EN_WORDS = _words(
    """
council government city state project construction neighbourhood residents department
lawmakers senate budget health education school hospital transport bus subway bike lane
rain flood drought harvest market inflation rates company workers union strike wages jobs
income tax reform vote election candidate party campaign survey university teachers
students scientists study data report investigation police court judge minister president
agreement contract tender concession energy water sanitation street avenue square park
stadium club team league match fans coach player festival music film theatre exhibition
museum book author artist public population citizens experts analysts economists doctors
nurses vaccine disease outbreak climate temperature forest river sea beach tourism hotel
restaurant retail shop industry factory output exports imports port airport road highway
bridge week month year morning afternoon evening Monday Tuesday Wednesday Thursday Friday
new large small bigger smaller first last main private municipal regional national local
international historic recent major approved announced presented said explained reported
confirmed denied criticised defended promised began ended raised fell rose grew invested
spent received according between about during after before still also already much more
"""
)
EN_GLUE = _words("of the in for with by and that a to on at from as its their")

_FIRST_NAMES = _words(
    """
Ana Bruno Carla Daniel Eduarda Felipe Gabriela Henrique Isabela João Karina Lucas Mariana
Nicolas Olívia Pedro Quitéria Rafael Sofia Tiago Úrsula Vitor Wesley Yasmin Zélia
Alice Ben Chloe David Emma Frank Grace Harry Iris Jack
"""
)
_LAST_NAMES = _words(
    """
Souza Lima Dias Almeida Ferreira Gomes Ribeiro Carvalho Martins Rocha Barbosa Pereira
Costa Oliveira Santos Araújo Cardoso Teixeira Moreira Mendes Nunes Freitas Vieira Pinto
Smith Brown Taylor Walker Clarke Hughes Wright Green
"""
)
_SECTIONS = _words(
    """
Política Economia Cidades Mundo Esportes Cultura Ciência Saúde Educação Tecnologia
Meio-Ambiente Negócios Opinião Turismo Gastronomia Mobilidade Segurança Justiça Trabalho
Agronegócio Energia Moda Música Cinema Literatura Televisão Games Automóveis Imóveis
Carreiras Previdência Consumo Religião Comportamento Clima Ciclismo Futebol Basquete
Tênis Vôlei Politics Business World Sport Culture Science Health Technology Travel Opinion
"""
)
_REGIONS = ("", "Brasil", "Internacional", "Regional")
AGENCIES = ("Redação", "Agência Estado", "Reuters", "AFP", "Folhapress", "Arquivo")
DIRTY_SNIPPETS = (
    '<script>document.write("tracker")</script>',
    '<p onclick="steal()">Leia também a cobertura completa.</p>',
    '<p><a href="javascript:alert(1)">clique aqui</a></p>',
    '<iframe src="https://video.example.org/embed/1"></iframe>',
    '<p><img src="data:image/png;base64,AAAA" alt="pixel"></p>',
    '<p style="color:red">Atualização: <a href="/arquivo">veja o arquivo</a>.</p>',
)


def ascii_slug(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    words = "".join(c if c.isalnum() else " " for c in folded).split()
    return "-".join(words)


@dataclass(frozen=True)
class Pools:
    """The corpus's people and taxonomy, with Zipf-like cumulative weights."""

    authors: tuple[dict[str, str], ...]
    categories: tuple[str, ...]
    tags: tuple[str, ...]
    author_weights: tuple[float, ...]
    category_weights: tuple[float, ...]
    tag_weights: tuple[float, ...]


def _zipf(count: int, exponent: float) -> tuple[float, ...]:
    return tuple(itertools.accumulate(1.0 / (rank**exponent) for rank in range(1, count + 1)))


def make_pools(
    seed: int = SEED, authors: int = 50, categories: int = 200, tags: int = 1000
) -> Pools:
    """50 authors, 200 categories and 1,000 tags, unique by slug."""
    rng = random.Random(seed)
    people: dict[str, dict[str, str]] = {}
    for first, last in itertools.product(_FIRST_NAMES, _LAST_NAMES):
        if len(people) >= authors * 4:
            break
        people.setdefault(ascii_slug(f"{first} {last}"), {"first": first, "last": last})
    chosen = rng.sample(sorted(people), authors)
    author_list = []
    for index, slug in enumerate(chosen):
        name = f"{people[slug]['first']} {people[slug]['last']}"
        author = {"name": name, "email": f"{slug.replace('-', '.')}@redacao.example.org"}
        if index % 3:
            author["url"] = f"https://news.example.org/autores/{slug}"
        author_list.append(author)
    sections = [f"{s} {r}".strip() for r in _REGIONS for s in _SECTIONS]
    category_list = _unique_by_slug(sections, categories)
    words = [w for w in PT_WORDS + EN_WORDS if len(w) > 3]
    pairs = [f"{a} {b}" for a, b in itertools.product(words[:60], words[60:120])]
    rng.shuffle(pairs)
    singles = sorted(set(words))
    rng.shuffle(singles)
    tag_list = _unique_by_slug(singles[:150] + pairs, tags)
    return Pools(
        authors=tuple(author_list),
        categories=tuple(category_list),
        tags=tuple(tag_list),
        author_weights=_zipf(authors, 0.6),
        category_weights=_zipf(categories, 0.9),
        tag_weights=_zipf(tags, 0.8),
    )


def _unique_by_slug(names: list[str], count: int) -> list[str]:
    seen: dict[str, str] = {}
    for name in names:
        seen.setdefault(ascii_slug(name), name)
        if len(seen) == count:
            break
    if len(seen) < count:
        raise ValueError(f"only {len(seen)} unique names for {count}")
    return list(seen.values())
